// The order's progress, from Herald (subscription SUBSCRIPTIONS.ordersFlow), by flow:
// - orchestrated: the saga's commands (approve, mark ready, complete pickup) and its outcome
//   (compensated or failed → cancel);
// - choreography: the other services' events (payment authorized → approve, refused → cancel;
//   shopping completed → ready, failed → cancel; handed over → picked up).
//
// No inbox on this side: a handler only runs a command, and a command whose effect is already in the
// order's history decides nothing (the decider), while two deliveries racing each other are ordered by
// the event store's expected version (the loser decides again on the fresher state: nothing). So a
// redelivered event changes nothing and writes no second domain event — hence no second integration
// event either.
import type { CloudEvent } from "@herald/cloudevents";
import { DomainError } from "@herald/eventsourcing";
import { defineEvent, NonRetryableError } from "@herald/sdk";
import { defineEventSource, type EventSourceDefinition } from "@herald/service";
import { SAGA_EVENTS } from "@herald/workflows";
import {
  ApproveOrder,
  CompletePickup,
  follow,
  type MallbotsConfig,
  MarkOrderReady,
  OrderHandedOver,
  PaymentAuthorized,
  PaymentRefused,
  SAGA_NAME,
  SOURCES,
  SUBSCRIPTIONS,
  ShoppingCompleted,
  ShoppingFailed,
} from "@mallbots/contracts";
import { Type } from "@sinclair/typebox";
import type { OrderCommands } from "./commands.js";
import type { OrderCommand } from "./domain.js";

/** The saga's outcome events (@herald/workflows): `key` is the order. */
const SagaOutcome = Type.Object({
  saga: Type.String(),
  key: Type.String(),
  reason: Type.Optional(Type.String()),
});
const SagaCompensated = defineEvent({ type: SAGA_EVENTS.compensated, schema: SagaOutcome });
const SagaFailed = defineEvent({ type: SAGA_EVENTS.failed, schema: SagaOutcome });

export function flowSources(config: MallbotsConfig, commands: OrderCommands): EventSourceDefinition[] {
  const trigger = `herald.${SUBSCRIPTIONS.ordersFlow}` as const;
  /** Runs the command with the event as its cause; a refused command is dead-lettered (no retry helps). */
  const run = async (event: CloudEvent, orderId: string, command: OrderCommand) => {
    try {
      await commands.run(orderId, command, follow(event));
    } catch (error) {
      if (error instanceof DomainError)
        throw new NonRetryableError(`${error.code}: ${error.message}`, { cause: error });
      throw error;
    }
  };
  const from = (source: string) => (event: CloudEvent) => event.source === source;

  if (config.flow === "orchestrated") {
    const cancelOnOutcome = async (event: CloudEvent<{ saga: string; key: string; reason?: string }>) => {
      if (event.data?.saga !== SAGA_NAME) return; // another saga's outcome
      const reason = event.data.reason ?? `saga ${event.type.slice("herald.saga.".length)}`;
      await run(event, event.data.key, { type: "cancel", reason });
    };
    return [
      defineEventSource({
        trigger,
        event: ApproveOrder,
        authorize: from(SOURCES.saga),
        subscription: {
          types: [
            ApproveOrder.type,
            MarkOrderReady.type,
            CompletePickup.type,
            SagaCompensated.type,
            SagaFailed.type,
          ],
          config: { start: "beginning" },
        },
        handler: (event) =>
          run(event, event.data.orderId, { type: "approve", paymentId: event.data.paymentId }),
      }),
      defineEventSource({
        trigger,
        event: MarkOrderReady,
        authorize: from(SOURCES.saga),
        handler: (event) => run(event, event.data.orderId, { type: "mark-ready" }),
      }),
      defineEventSource({
        trigger,
        event: CompletePickup,
        authorize: from(SOURCES.saga),
        handler: (event) => run(event, event.data.orderId, { type: "complete-pickup" }),
      }),
      defineEventSource({ trigger, event: SagaCompensated, handler: cancelOnOutcome }),
      defineEventSource({ trigger, event: SagaFailed, handler: cancelOnOutcome }),
    ];
  }
  return [
    defineEventSource({
      trigger,
      event: PaymentAuthorized,
      authorize: from(SOURCES.payments),
      subscription: {
        types: [
          PaymentAuthorized.type,
          PaymentRefused.type,
          ShoppingCompleted.type,
          ShoppingFailed.type,
          OrderHandedOver.type,
        ],
        config: { start: "beginning" },
      },
      handler: (event) =>
        run(event, event.data.orderId, { type: "approve", paymentId: event.data.paymentId }),
    }),
    defineEventSource({
      trigger,
      event: PaymentRefused,
      authorize: from(SOURCES.payments),
      handler: (event) => run(event, event.data.orderId, { type: "cancel", reason: event.data.reason }),
    }),
    defineEventSource({
      trigger,
      event: ShoppingCompleted,
      authorize: from(SOURCES.depot),
      handler: (event) => run(event, event.data.orderId, { type: "mark-ready" }),
    }),
    defineEventSource({
      trigger,
      event: ShoppingFailed,
      authorize: from(SOURCES.depot),
      handler: (event) => run(event, event.data.orderId, { type: "cancel", reason: event.data.reason }),
    }),
    defineEventSource({
      trigger,
      event: OrderHandedOver,
      authorize: from(SOURCES.depot),
      handler: (event) => run(event, event.data.orderId, { type: "complete-pickup" }),
    }),
  ];
}
