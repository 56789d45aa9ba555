// Orders in process against a real herald serve: the catalog copy prices orders, the API answers,
// the integration events come out once each with the order's conversation, and both flows' events
// or commands move the order.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { CloudEvent } from "@herald/cloudevents";
import { inboxKey } from "@herald/sdk";
import { SAGA_EVENTS } from "@herald/workflows";
import {
  ApproveOrder,
  CompletePickup,
  MarkOrderReady,
  OrderHandedOver,
  type OrderView,
  PaymentAuthorized,
  PaymentRefused,
  ProductRemoved,
  ProductUpdated,
  type RunningService,
  SAGA_NAME,
  SOURCES,
  SUBSCRIPTIONS,
  ShoppingCompleted,
  ShoppingFailed,
} from "@mallbots/contracts";
import Database from "better-sqlite3";
import { startOrders } from "../src/service.js";
import {
  call,
  type Herald,
  orderEvents,
  publishCatalog,
  startHerald,
  tempDir,
  testConfig,
  waitFor,
} from "./support.js";

const TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const apples = { productId: "prod-apples", quantity: 2 };
const novel = { productId: "prod-novel", quantity: 1 };

interface Running {
  readonly herald: Herald;
  readonly orders: RunningService;
  readonly dataDir: string;
  close(): Promise<void>;
}

async function startAll(flow: "orchestrated" | "choreography"): Promise<Running> {
  const herald = await startHerald();
  const dir = tempDir();
  await publishCatalog(herald.client);
  const orders = await startOrders(testConfig(herald.server.url, dir.path, flow));
  return {
    herald,
    orders,
    dataDir: dir.path,
    async close() {
      await orders.stop();
      await herald.close();
      dir.remove();
    },
  };
}

/** Places an order once the catalog copy has its products (422 until then). */
async function place(
  base: string,
  orderId: string,
  items = [apples, novel],
  customerId = "ada",
  headers: Record<string, string> = {},
) {
  return waitFor(`order ${orderId} placed`, async () => {
    const answer = await call(base, "POST", "/orders", { orderId, customerId, items }, headers);
    return answer.status === 422 ? undefined : answer;
  });
}

async function statusOf(base: string, orderId: string, status: string): Promise<OrderView> {
  return waitFor(`order ${orderId} ${status}`, async () => {
    const answer = await call(base, "GET", `/orders/${orderId}`);
    const order = answer.body as OrderView;
    return answer.status === 200 && order.status === status ? order : undefined;
  });
}

/** Waits for the order's integration events of these types, in this order, and returns them. */
async function published(running: Running, orderId: string, types: readonly string[]): Promise<CloudEvent[]> {
  return waitFor(`${types.join(", ")} of ${orderId}`, async () => {
    const events = await orderEvents(running.herald.client, orderId);
    return events.length >= types.length ? events : undefined;
  }).then((events) => {
    assert.deepEqual(
      events.map((e) => e.type),
      types.map((t) => `mallbots.orders.${t}`),
    );
    return events;
  });
}

async function send(running: Running, event: CloudEvent): Promise<void> {
  const result = await running.herald.client.send(event);
  assert.ok(result.ok, `herald refused ${event.type}: ${JSON.stringify(result)}`);
}

/** A command or event about an order, as the saga or another service sends it. */
const about = (orderId: string, extra: Record<string, string> = {}) => ({
  subject: orderId,
  correlationid: orderId,
  ...extra,
});

describe("Orders, orchestrated", () => {
  let running: Running;
  let base: string;
  before(async () => {
    running = await startAll("orchestrated");
    base = running.orders.url;
  });
  after(() => running.close());

  it("prices and names an order from its catalog copy; its first event starts the conversation and joins the caller's trace", async () => {
    const answer = await place(base, "o-price", [apples, novel], "ada", { traceparent: TRACE });
    assert.equal(answer.status, 201);
    assert.deepEqual(answer.body, { orderId: "o-price", total: 2 * 349 + 1299, status: "placed" });
    const order = await statusOf(base, "o-price", "placed");
    assert.deepEqual(order.items, [
      {
        productId: "prod-apples",
        storeId: "store-greengrocer",
        name: "Apples (1 kg)",
        price: 349,
        quantity: 2,
      },
      { productId: "prod-novel", storeId: "store-bookshop", name: "A long novel", price: 1299, quantity: 1 },
    ]);
    assert.equal(order.customerId, "ada");
    assert.equal(order.paymentId, null);
    const [placed] = await published(running, "o-price", ["order-placed"]);
    assert.equal(placed?.["correlationid"], "o-price");
    assert.deepEqual(placed?.data, {
      orderId: "o-price",
      customerId: "ada",
      items: order.items,
      total: 1997,
    });
    // The same trace (a traced HTTP server puts its own span in between: compare the trace id).
    assert.equal(String(placed?.["traceparent"]).split("-")[1], TRACE.split("-")[1]);
    assert.equal(placed?.time, order.placedAt);
  });

  it("dead-letters a command the order refuses, and the order stays as it was", async () => {
    const orderId = "o-refused";
    await place(base, orderId);
    const early = CompletePickup.create({ ...about(orderId), data: { orderId } });
    await send(running, early);
    const dead = await waitFor("the refused command dead-lettered", async () => {
      const page = await running.herald.client.deadLetters(SUBSCRIPTIONS.ordersFlow);
      return page.deadLetters.find((d) => d.event.id === early.id);
    });
    assert.equal(dead.reason, "max-deliveries"); // a pull consumer hands it back until Herald gives up
    const failures = running.orders.app.outcomes.snapshot()["herald.mallbots-orders"];
    assert.ok((failures?.failed ?? 0) >= 1);
    // Its order's later commands are not held back by it.
    await send(running, ApproveOrder.create({ ...about(orderId), data: { orderId, paymentId: "p" } }));
    await statusOf(base, orderId, "paid");
    assert.deepEqual(
      (await orderEvents(running.herald.client, orderId)).map((e) => e.type),
      ["mallbots.orders.order-placed", "mallbots.orders.order-paid"],
    );
  });

  it("answers a retried order id with the order placed first (200), not a second order", async () => {
    await place(base, "o-retry");
    const again = await call(base, "POST", "/orders", {
      orderId: "o-retry",
      customerId: "ada",
      items: [novel],
    });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, { orderId: "o-retry", total: 1997, status: "placed" });
    const [placed] = await published(running, "o-retry", ["order-placed"]);
    assert.equal(placed?.data && (placed.data as { total: number }).total, 1997);
  });

  it("gives an order without an id one of its own", async () => {
    await place(base, "o-warm");
    const answer = await call(base, "POST", "/orders", { customerId: "bob", items: [apples] });
    assert.equal(answer.status, 201);
    const { orderId } = answer.body as { orderId: string };
    assert.match(orderId, /^[0-9a-f-]{36}$/);
    await statusOf(base, orderId, "placed");
  });

  it("refuses unknown products (422), bad input (400) and callers without the key (401)", async () => {
    await place(base, "o-known");
    const unknown = await call(base, "POST", "/orders", {
      orderId: "o-unknown",
      customerId: "ada",
      items: [apples, { productId: "prod-nothing", quantity: 1 }],
    });
    assert.equal(unknown.status, 422);
    assert.equal((unknown.body as { code: string }).code, "handler-refused");
    const empty = await call(base, "POST", "/orders", { customerId: "ada", items: [] });
    assert.equal(empty.status, 400);
    assert.equal((empty.body as { code: string }).code, "input-invalid");
    const anonymous = await fetch(`${base}/orders/o-known`);
    assert.equal(anonymous.status, 401);
    assert.equal((await call(base, "GET", "/orders/o-unknown")).status, 404);
  });

  it("lists orders by status and customer, the newest first", async () => {
    await place(base, "o-list-1", [apples], "list-customer");
    await place(base, "o-list-2", [novel], "list-customer");
    await statusOf(base, "o-list-2", "placed");
    const listed = await call(base, "GET", "/orders?customerId=list-customer&status=placed");
    assert.equal(listed.status, 200);
    const ids = (listed.body as { orders: OrderView[] }).orders.map((o) => o.orderId);
    assert.deepEqual(new Set(ids), new Set(["o-list-1", "o-list-2"]));
    const none = await call(base, "GET", "/orders?customerId=list-customer&status=paid");
    assert.deepEqual(none.body, { orders: [] });
    assert.equal((await call(base, "GET", "/orders?status=lost")).status, 400);
  });

  it("the saga's commands move the order; each step publishes one event in the order's conversation", async () => {
    const orderId = "o-saga";
    await place(base, orderId);
    const approve = ApproveOrder.create({
      ...about(orderId, { traceparent: TRACE }),
      data: { orderId, paymentId: "pay-1" },
    });
    await send(running, approve);
    const paid = await statusOf(base, orderId, "paid");
    assert.equal(paid.paymentId, "pay-1");
    // The saga resends its command (a new id), Herald redelivers the first: nothing more happens.
    await send(running, ApproveOrder.create({ ...about(orderId), data: { orderId, paymentId: "pay-1" } }));
    const ready = MarkOrderReady.create({ ...about(orderId), data: { orderId } });
    await send(running, ready);
    await statusOf(base, orderId, "ready");
    const pickup = CompletePickup.create({ ...about(orderId), data: { orderId } });
    await send(running, pickup);
    await statusOf(base, orderId, "picked-up");

    const events = await published(running, orderId, [
      "order-placed",
      "order-paid",
      "order-ready",
      "order-picked-up",
    ]);
    for (const event of events) {
      assert.equal(event.subject, orderId);
      assert.equal(event["correlationid"], orderId);
    }
    const [placedEvent, paidEvent, readyEvent, pickedUpEvent] = events;
    assert.equal(placedEvent?.["causationid"], undefined);
    assert.equal(paidEvent?.["causationid"], approve.id);
    assert.equal(paidEvent?.["traceparent"], TRACE);
    assert.deepEqual(paidEvent?.data, { orderId, paymentId: "pay-1" });
    assert.equal(readyEvent?.["causationid"], ready.id);
    assert.equal(pickedUpEvent?.["causationid"], pickup.id);
    // The correlation view shows the whole conversation.
    const correlation = await running.herald.client.correlation(orderId);
    const ids = new Set(correlation.events.map((e) => e.event.id));
    for (const event of [approve, ready, pickup, ...events]) assert.ok(ids.has(event.id), event.type);
  });

  it("cancels the order on this saga's outcome (compensated or failed), not on another saga's", async () => {
    await place(base, "o-compensated");
    await place(base, "o-failed");
    await place(base, "o-other-saga");
    const outcome = (type: string, saga: string, key: string, reason?: string) => ({
      id: `${type}:${saga}:${key}`,
      source: "urn:herald:workflow:mallbots-order",
      type,
      subject: key,
      correlationid: key,
      datacontenttype: "application/json",
      data: { saga, key, ...(reason === undefined ? {} : { reason }) },
    });
    const results = await running.herald.client.sendBatch([
      outcome(SAGA_EVENTS.compensated, SAGA_NAME, "o-compensated", "authorize failed"),
      outcome(SAGA_EVENTS.failed, SAGA_NAME, "o-failed"),
      outcome(SAGA_EVENTS.compensated, "another-saga", "o-other-saga", "not ours"),
    ]);
    assert.ok(results.ok);
    assert.equal((await statusOf(base, "o-compensated", "cancelled")).reason, "authorize failed");
    assert.equal((await statusOf(base, "o-failed", "cancelled")).reason, "saga failed");
    // The other saga's outcome was delivered before this command of the same order: it changed nothing.
    await send(
      running,
      ApproveOrder.create({ ...about("o-other-saga"), data: { orderId: "o-other-saga", paymentId: "p" } }),
    );
    await statusOf(base, "o-other-saga", "paid");
    const [, cancelled] = await published(running, "o-compensated", ["order-placed", "order-cancelled"]);
    assert.deepEqual(cancelled?.data, { orderId: "o-compensated", reason: "authorize failed" });
  });

  it("keeps the newest copy of each product: updates price later orders, removals refuse them, forgeries are refused", async () => {
    await place(base, "o-before-update", [{ productId: "prod-tea", quantity: 1 }]);
    const copy = new Database(join(running.dataDir, "orders", "orders.db"), { readonly: true });
    try {
      const priceOf = (productId: string) =>
        copy
          .prepare<[string], { price: number; removed: number }>(
            "SELECT price, removed FROM products WHERE product_id = ?",
          )
          .get(productId);
      const handled = (event: CloudEvent) =>
        copy.prepare("SELECT 1 FROM herald_inbox WHERE key = ?").get(inboxKey(event)) !== undefined ||
        undefined;
      const tea = {
        productId: "prod-tea",
        storeId: "store-greengrocer",
        name: "Green tea",
        description: "50 bags",
        sku: "GG-010",
      };
      // Stores' events of one store are one stream (subject = the store): they arrive in log order.
      const fromStores = { source: SOURCES.stores, subject: "store-greengrocer" };
      const first = ProductUpdated.create({ ...fromStores, data: { ...tea, price: 550 } });
      const update = ProductUpdated.create({ ...fromStores, data: { ...tea, price: 600 } });
      const removed = ProductRemoved.create({
        ...fromStores,
        data: { productId: "prod-pears", storeId: "store-greengrocer" },
      });
      // A product event from anyone but Stores is refused.
      const forged = ProductUpdated.create({
        source: SOURCES.gateway,
        subject: "store-greengrocer",
        data: { ...tea, price: 2 },
      });
      for (const event of [first, update, removed, forged]) await send(running, event);
      await waitFor("the removal handled", () => handled(removed));
      assert.deepEqual(priceOf("prod-tea"), { price: 600, removed: 0 });
      assert.equal(priceOf("prod-pears")?.removed, 1);
      const tea2 = await call(base, "POST", "/orders", {
        orderId: "o-after-update",
        customerId: "ada",
        items: [{ productId: "prod-tea", quantity: 2 }],
      });
      assert.deepEqual(tea2.body, { orderId: "o-after-update", total: 1200, status: "placed" });
      const pears = await call(base, "POST", "/orders", {
        orderId: "o-pears",
        customerId: "ada",
        items: [{ productId: "prod-pears", quantity: 1 }],
      });
      assert.equal(pears.status, 422);
      await waitFor("the forged update refused", async () => {
        const stats = running.orders.app.outcomes.snapshot()["herald.mallbots-orders-catalog"];
        return (stats?.refused ?? 0) >= 1 ? true : undefined;
      });
      assert.deepEqual(priceOf("prod-tea"), { price: 600, removed: 0 });
    } finally {
      copy.close();
    }
  });
});

describe("Orders, choreography", () => {
  let running: Running;
  let base: string;
  before(async () => {
    running = await startAll("choreography");
    base = running.orders.url;
  });
  after(() => running.close());

  it("payment authorized → paid, shopping completed → ready, handed over → picked up", async () => {
    const orderId = "c-happy";
    await place(base, orderId);
    const authorized = PaymentAuthorized.create({
      ...about(orderId),
      data: { orderId, paymentId: "pay-9", amount: 1997 },
    });
    await send(running, authorized);
    await statusOf(base, orderId, "paid");
    const completed = ShoppingCompleted.create({
      ...about(orderId),
      data: { orderId, taskId: "t-1", botId: "bot-1" },
    });
    await send(running, completed);
    await statusOf(base, orderId, "ready");
    const handedOver = OrderHandedOver.create({ ...about(orderId), data: { orderId, taskId: "t-1" } });
    await send(running, handedOver);
    await statusOf(base, orderId, "picked-up");
    const events = await published(running, orderId, [
      "order-placed",
      "order-paid",
      "order-ready",
      "order-picked-up",
    ]);
    assert.deepEqual(
      events.slice(1).map((e) => e["causationid"]),
      [authorized.id, completed.id, handedOver.id],
    );
    for (const event of events) assert.equal(event["correlationid"], orderId);
  });

  it("payment refused or shopping failed → cancelled with the reason", async () => {
    await place(base, "c-refused");
    await place(base, "c-failed");
    await send(
      running,
      PaymentRefused.create({
        ...about("c-refused"),
        data: { orderId: "c-refused", reason: "over the limit" },
      }),
    );
    await send(
      running,
      PaymentAuthorized.create({
        ...about("c-failed"),
        data: { orderId: "c-failed", paymentId: "p", amount: 1 },
      }),
    );
    await send(
      running,
      ShoppingFailed.create({
        ...about("c-failed"),
        data: { orderId: "c-failed", taskId: "t", reason: "bot timeout" },
      }),
    );
    assert.equal((await statusOf(base, "c-refused", "cancelled")).reason, "over the limit");
    assert.equal((await statusOf(base, "c-failed", "cancelled")).reason, "bot timeout");
    await published(running, "c-failed", ["order-placed", "order-paid", "order-cancelled"]);
  });

  it("takes payment events from Payments only", async () => {
    const orderId = "c-forged";
    await place(base, orderId);
    await send(
      running,
      PaymentAuthorized.create({
        ...about(orderId),
        source: SOURCES.depot,
        data: { orderId, paymentId: "p", amount: 1 },
      }),
    );
    await waitFor("the forged payment refused", () => {
      const stats = running.orders.app.outcomes.snapshot()["herald.mallbots-orders"];
      return (stats?.refused ?? 0) >= 1 ? true : undefined;
    });
    await send(
      running,
      PaymentRefused.create({ ...about(orderId), data: { orderId, reason: "card declined" } }),
    );
    assert.equal((await statusOf(base, orderId, "cancelled")).paymentId, null);
  });
});
