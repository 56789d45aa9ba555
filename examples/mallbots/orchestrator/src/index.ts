// The orchestrator: the order saga run by a ProcessManager on Herald. It owns no database: each
// order's instance is a stream in herald serve (`workflow.mallbots-order.<orderId>`, its inbox, state
// and outbox in one), its timers are scheduled events there, so a process that is killed and started
// again (or a second one beside it) carries on where the stream says.
import { heraldPublisher, heraldStore } from "@herald/eventsourcing";
import type { Consumer } from "@herald/sdk";
import { defineEventSource } from "@herald/service";
import { heraldTimers, ProcessManager } from "@herald/workflows";
import {
  heraldClient,
  type MallbotsConfig,
  notFound,
  Problem,
  type RunningService,
  SCOPES,
  SUBSCRIPTIONS,
  startApp,
} from "@mallbots/contracts";
import { Type } from "@sinclair/typebox";
import { orderSaga } from "./saga.js";

export { type OrderSagaData, type OrderSagaOptions, orderSaga } from "./saga.js";

const SagaView = Type.Object({
  orderId: Type.String(),
  /** running:<step>, compensating:<step>, completed, compensated or failed. */
  status: Type.String(),
  paymentId: Type.Optional(Type.String()),
  /** Why it compensates ("shop timed out", "authorize failed"). */
  reason: Type.Optional(Type.String()),
  /** Steps stored but not yet published (non-zero only for a moment, or while Herald is away). */
  undispatched: Type.Integer(),
});

export async function startOrchestrator(config: MallbotsConfig): Promise<RunningService> {
  const client = heraldClient(config);
  const manager = new ProcessManager({
    definition: orderSaga({ botTimeoutMs: config.botTimeoutMs }),
    store: heraldStore(client),
    publish: heraldPublisher(client),
    timers: heraldTimers(client),
  });

  // Where is order 42? The saga's own answer (the correlation trail in the console tells the rest).
  const instance = defineEventSource({
    trigger: "http.get./sagas/:orderId",
    summary: "The saga instance of an order",
    input: { params: Type.Object({ orderId: Type.String({ minLength: 1 }) }) },
    output: { 200: SagaView, 404: Problem },
    auth: { scopes: [SCOPES.internal] },
    handler: async ({ params }) => {
      const found = await manager.instance(params.orderId);
      if (found === undefined) return notFound(`no saga instance for order ${params.orderId}`);
      const { data, reason } = found.state;
      return {
        status: 200,
        body: {
          orderId: params.orderId,
          status: found.status,
          ...(data.paymentId === undefined ? {} : { paymentId: data.paymentId }),
          ...(reason === undefined ? {} : { reason }),
          undispatched: found.undispatched,
        },
      };
    },
  });

  let consumer: Consumer | undefined;
  const service = await startApp({
    name: "orchestrator",
    config,
    client,
    definitions: [instance],
    onStop: async () => {
      await consumer?.stop();
    },
  });
  try {
    // From the beginning: orders placed while no orchestrator ran are taken up when it starts.
    // Many deliveries: an event dead-lettered would leave its order stuck mid-saga (a step that
    // fails, e.g. Herald refusing a publish for a while, is retried rather than given up on).
    consumer = await manager.run(client, {
      subscription: SUBSCRIPTIONS.saga,
      config: { start: "beginning", maxDeliveries: 100 },
    });
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
}
