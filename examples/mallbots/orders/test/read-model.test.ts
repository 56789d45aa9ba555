// The projection on its own (given/when/then through its real SQL): the read model's rows, and one
// integration event per domain event with the order's conversation carried over.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CloudEvent } from "@herald/cloudevents";
import { projectionSpec, sqliteProjectionHarness } from "@herald/eventsourcing/testing";
import { derivedEventId } from "@herald/sdk";
import { OrderPaid, type OrderItem } from "@mallbots/contracts";
import Database from "better-sqlite3";
import { DOMAIN_SOURCE, ORDER_EVENTS, type OrderEvent } from "../src/domain.js";
import { integrationEvent, ordersProjection } from "../src/read-model.js";

const items: OrderItem[] = [
  { productId: "prod-tea", storeId: "store-greengrocer", name: "Green tea", price: 575, quantity: 2 },
];
const placed: OrderEvent = {
  type: "orders.domain.order-placed",
  data: { orderId: "o-1", customerId: "ada", items, total: 1150 },
};
const paid: OrderEvent = { type: "orders.domain.order-paid", data: { paymentId: "pay-1" } };
const cancelled: OrderEvent = { type: "orders.domain.order-cancelled", data: { reason: "bot timeout" } };
const inStream = (event: OrderEvent) => ({ stream: "order-o-1", ...event });

/** The projection with an outbox that collects what it would publish. */
function harness(published: CloudEvent[]) {
  return sqliteProjectionHarness(
    () => new Database(":memory:"),
    ordersProjection((events) => published.push(...events)),
    (db) =>
      db
        .prepare<[], Record<string, unknown>>(
          "SELECT order_id, customer_id, items, total, status, payment_id, reason FROM orders",
        )
        .all(),
  );
}

describe("orders projection", () => {
  it("a placed order is a row; paid and cancelled update it", async () => {
    const published: CloudEvent[] = [];
    await projectionSpec(harness(published))
      .given([inStream(placed)])
      .when([inStream(paid), inStream(cancelled)])
      .then([
        {
          order_id: "o-1",
          customer_id: "ada",
          items: JSON.stringify(items),
          total: 1150,
          status: "cancelled",
          payment_id: "pay-1",
          reason: "bot timeout",
        },
      ]);
    assert.deepEqual(
      published.map((e) => [e.type, e.subject, e.data]),
      [
        ["mallbots.orders.order-placed", "o-1", { orderId: "o-1", customerId: "ada", items, total: 1150 }],
        ["mallbots.orders.order-paid", "o-1", { orderId: "o-1", paymentId: "pay-1" }],
        ["mallbots.orders.order-cancelled", "o-1", { orderId: "o-1", reason: "bot timeout" }],
      ],
    );
  });

  it("the integration event's id comes from the domain event's; the conversation is carried over", () => {
    const stored = ORDER_EVENTS["orders.domain.order-paid"].create({
      source: DOMAIN_SOURCE,
      subject: "o-1",
      time: "2026-12-02T08:00:00.000Z",
      correlationid: "o-1",
      causationid: "approve-1",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      data: { paymentId: "pay-1" },
    });
    const event = integrationEvent(paid, stored, "o-1");
    assert.equal(OrderPaid.is(event), true);
    assert.equal(event.id, derivedEventId(stored, 0));
    assert.equal(integrationEvent(paid, stored, "o-1").id, event.id);
    assert.equal(event.source, "urn:mallbots:orders");
    assert.equal(event.time, stored.time);
    for (const name of ["correlationid", "causationid", "traceparent"])
      assert.equal(event[name], stored[name], name);
  });
});
