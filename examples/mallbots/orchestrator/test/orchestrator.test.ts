// The orchestrator in-process against a real herald serve, with the services played by the test: it
// answers each command the way the service would (its reply `...follow(command)`). Proves the
// subscription, the commands on the wire (source, subject, correlation, trace), the durable bot
// timeout through herald serve's scheduled delivery, and GET /sagas/:orderId.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type CloudEvent, decodeJsonEventObject } from "@herald/cloudevents";
import { HeraldClient } from "@herald/sdk";
import { type HeraldServer, startServer } from "@herald/server";
import { SAGA_EVENTS } from "@herald/workflows";
import {
  ApproveOrder,
  AssignShopping,
  AuthorizePayment,
  CancelShopping,
  CapturePayment,
  CompletePickup,
  DEMO_KEYS,
  follow,
  HoldForPickup,
  MarkOrderReady,
  OrderHandedOver,
  OrderPaid,
  OrderPickedUp,
  OrderPlaced,
  OrderReady,
  PaymentAuthorized,
  PaymentCaptured,
  PaymentReleased,
  type RunningService,
  ReleasePayment,
  readConfig,
  SOURCES,
  ShoppingCancelled,
  ShoppingCompleted,
} from "@mallbots/contracts";
import { startOrchestrator } from "../src/index.js";

const BOT_TIMEOUT_MS = 1_500;
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

let server: HeraldServer;
let client: HeraldClient;
let orchestrator: RunningService;
let dataDir: string;
const stopServices = new AbortController();

/** Orders whose shopping "hangs": Depot never answers AssignShopping. */
const hanging = new Set<string>();

/** The services, played by the test: each command gets its service's reply, in the order's conversation. */
async function fakeServices(signal: AbortSignal) {
  const replyTo = (command: CloudEvent): CloudEvent | undefined => {
    const { orderId } = command.data as { orderId: string };
    const base = { subject: orderId, ...follow(command) };
    const id = `${command.id}:reply`;
    switch (command.type) {
      case AuthorizePayment.type:
        return PaymentAuthorized.create({
          ...base,
          id,
          data: { orderId, paymentId: `pay-${orderId}`, amount: (command.data as { amount: number }).amount },
        });
      case ApproveOrder.type:
        return OrderPaid.create({ ...base, id, data: { orderId, paymentId: `pay-${orderId}` } });
      case AssignShopping.type:
        if (hanging.has(orderId)) return undefined;
        return ShoppingCompleted.create({
          ...base,
          id,
          data: { orderId, taskId: `t-${orderId}`, botId: "b1" },
        });
      case CancelShopping.type:
        return ShoppingCancelled.create({ ...base, id, data: { orderId, taskId: `t-${orderId}` } });
      case MarkOrderReady.type:
        return OrderReady.create({ ...base, id, data: { orderId } });
      case HoldForPickup.type:
        return OrderHandedOver.create({ ...base, id, data: { orderId, taskId: `t-${orderId}` } });
      case CompletePickup.type:
        return OrderPickedUp.create({ ...base, id, data: { orderId } });
      case CapturePayment.type:
        return PaymentCaptured.create({
          ...base,
          id,
          data: { orderId, paymentId: `pay-${orderId}`, amount: 1150 },
        });
      case ReleasePayment.type:
        return PaymentReleased.create({ ...base, id, data: { orderId, paymentId: `pay-${orderId}` } });
      default:
        return undefined;
    }
  };
  try {
    for await (const entry of client.events({ follow: true, pollIntervalMs: 25, signal })) {
      const event = decodeJsonEventObject(entry.event);
      if (event.source !== SOURCES.saga) continue;
      const reply = replyTo(event);
      if (reply) assert.equal((await client.send(reply)).kind, "ack");
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

before(async () => {
  server = await startServer({ memory: true, port: 0, logLevel: "silent" });
  client = new HeraldClient({ url: server.url });
  dataDir = mkdtempSync(join(tmpdir(), "mallbots-orchestrator-"));
  void fakeServices(stopServices.signal);
  orchestrator = await startOrchestrator(
    readConfig({
      MALLBOTS_HERALD_URL: server.url,
      MALLBOTS_DATA_DIR: dataDir,
      MALLBOTS_PORT: "0",
      MALLBOTS_BOT_TIMEOUT_MS: String(BOT_TIMEOUT_MS),
    }),
  );
});

after(async () => {
  stopServices.abort();
  await orchestrator?.stop();
  await client?.close();
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const placed = (orderId: string, span: string) =>
  OrderPlaced.create({
    id: `placed-${orderId}`,
    subject: orderId,
    correlationid: orderId,
    traceparent: `00-${TRACE_ID}-${span}-01`,
    data: {
      orderId,
      customerId: "cust-1",
      items: [
        { productId: "prod-tea", storeId: "store-greengrocer", name: "Green tea", price: 575, quantity: 2 },
      ],
      total: 1150,
    },
  });

/** The order's conversation (GET /correlations/<orderId>) once its saga has an outcome. */
async function conversation(orderId: string, deadlineMs = 30_000): Promise<CloudEvent[]> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const page = await client.correlation(orderId);
    const events = page.events.map((e) => decodeJsonEventObject(e.event));
    if (events.some((e) => e.type === SAGA_EVENTS.completed || e.type === SAGA_EVENTS.compensated))
      return events;
    if (Date.now() > deadline)
      assert.fail(`no outcome for ${orderId}; so far: ${events.map((e) => e.type).join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function sagaOf(orderId: string) {
  const response = await fetch(`${orchestrator.url}/sagas/${orderId}`, {
    headers: { "X-API-Key": DEMO_KEYS.internal },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

test("an order goes through all seven steps; its conversation holds every command, in one trace", {
  timeout: 60_000,
}, async () => {
  assert.equal((await client.send(placed("o-happy", "00f067aa0ba902b7"))).kind, "ack");
  const events = await conversation("o-happy");
  const types = events.map((e) => e.type);
  assert.deepEqual(
    types.filter((t) => t !== "herald.workflow.timeout"),
    [
      OrderPlaced.type,
      AuthorizePayment.type,
      PaymentAuthorized.type,
      ApproveOrder.type,
      OrderPaid.type,
      AssignShopping.type,
      ShoppingCompleted.type,
      MarkOrderReady.type,
      OrderReady.type,
      HoldForPickup.type,
      OrderHandedOver.type,
      CompletePickup.type,
      OrderPickedUp.type,
      CapturePayment.type,
      PaymentCaptured.type,
      SAGA_EVENTS.completed,
    ],
  );
  for (const event of events) {
    assert.equal(event.subject, "o-happy", `${event.type} is about the order`);
    assert.ok(
      String(event["traceparent"]).startsWith(`00-${TRACE_ID}-`),
      `${event.type} is in the order's trace: ${String(event["traceparent"])}`,
    );
  }
  // Each command answers the event before it.
  for (let i = 1; i < events.length; i++)
    if (events[i]!.source === SOURCES.saga)
      assert.equal(
        events[i]!["causationid"],
        events[i - 1]!.id,
        `${events[i]!.type} caused by ${types[i - 1]}`,
      );
  const approve = events.find((e) => e.type === ApproveOrder.type);
  assert.deepEqual(approve?.data, { orderId: "o-happy", paymentId: "pay-o-happy" });
  const view = await sagaOf("o-happy");
  assert.equal(view.status, 200);
  assert.deepEqual(view.body, {
    orderId: "o-happy",
    status: "completed",
    paymentId: "pay-o-happy",
    undispatched: 0,
  });
});

test("a bot that never finishes: after the shop timeout the task is cancelled and the payment released", {
  timeout: 60_000,
}, async () => {
  hanging.add("o-hangs");
  const began = Date.now();
  assert.equal((await client.send(placed("o-hangs", "00f067aa0ba902b8"))).kind, "ack");
  const events = await conversation("o-hangs");
  const types = events.map((e) => e.type).filter((t) => !t.startsWith("herald.workflow."));
  assert.ok(Date.now() - began >= BOT_TIMEOUT_MS, "the timeout waited for its time");
  assert.deepEqual(types.slice(types.indexOf(AssignShopping.type)), [
    AssignShopping.type,
    CancelShopping.type,
    ShoppingCancelled.type,
    SAGA_EVENTS.stepCompensated,
    ReleasePayment.type,
    PaymentReleased.type,
    SAGA_EVENTS.stepCompensated,
    SAGA_EVENTS.compensated,
  ]);
  const outcome = events.find((e) => e.type === SAGA_EVENTS.compensated);
  assert.deepEqual(outcome?.data, { saga: "mallbots-order", key: "o-hangs", reason: "shop timed out" });
  // The compensation, sent from a timer, is still in the order's trace.
  for (const type of [CancelShopping.type, ReleasePayment.type, SAGA_EVENTS.compensated]) {
    const event = events.find((e) => e.type === type);
    assert.ok(String(event?.["traceparent"]).startsWith(`00-${TRACE_ID}-`), `${type} in the trace`);
  }
  assert.equal((await sagaOf("o-hangs")).body["status"], "compensated");
  assert.equal((await sagaOf("o-hangs")).body["reason"], "shop timed out");
});

test("GET /sagas/:orderId: 404 for an order the saga never saw, 401 without a key", async () => {
  assert.equal((await sagaOf("nope")).status, 404);
  assert.equal((await fetch(`${orchestrator.url}/sagas/nope`)).status, 401);
});
