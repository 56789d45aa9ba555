// The order's rules as given/when/then specifications: every command in every state it may meet.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DomainError } from "@herald/eventsourcing";
import { deciderSpec } from "@herald/eventsourcing/testing";
import type { OrderItem } from "@mallbots/contracts";
import { type OrderCommand, type OrderEvent, orderDecider } from "../src/domain.js";

const spec = deciderSpec(orderDecider);
const items: OrderItem[] = [
  { productId: "prod-apples", storeId: "store-greengrocer", name: "Apples (1 kg)", price: 349, quantity: 2 },
  { productId: "prod-novel", storeId: "store-bookshop", name: "A long novel", price: 1299, quantity: 1 },
];
const place: OrderCommand = { type: "place", orderId: "o-1", customerId: "ada", items };
const placed: OrderEvent = {
  type: "orders.domain.order-placed",
  data: { orderId: "o-1", customerId: "ada", items, total: 2 * 349 + 1299 },
};
const paid: OrderEvent = { type: "orders.domain.order-paid", data: { paymentId: "pay-1" } };
const ready: OrderEvent = { type: "orders.domain.order-ready", data: {} };
const pickedUp: OrderEvent = { type: "orders.domain.order-picked-up", data: {} };
const cancelled: OrderEvent = { type: "orders.domain.order-cancelled", data: { reason: "payment refused" } };

const approve: OrderCommand = { type: "approve", paymentId: "pay-1" };
const markReady: OrderCommand = { type: "mark-ready" };
const pickup: OrderCommand = { type: "complete-pickup" };
const cancel: OrderCommand = { type: "cancel", reason: "payment refused" };

/** The decider refuses with this code. */
const refused = (code: string) => (error: DomainError) => assert.equal(error.code, code);

describe("order decider", () => {
  describe("place", () => {
    it("places a new order with its total", () => spec.given([]).when(place).then([placed]));
    it("placing the same order again is nothing to do (a kiosk's retry)", () =>
      spec.given([placed]).when(place).thenNothingHappened());
    it("an order that moved on is not placed again", () =>
      spec.given([placed, paid, ready]).when(place).thenNothingHappened());
    it("refuses an order without items", () =>
      spec
        .given([])
        .when({ ...place, items: [] })
        .thenThrows(DomainError, refused("order-empty")));
  });

  describe("approve", () => {
    it("a placed order is paid", () => spec.given([placed]).when(approve).then([paid]));
    it("approving again with the same payment is nothing to do", () =>
      spec.given([placed, paid]).when(approve).thenNothingHappened());
    it("a late approve of an order already further on is nothing to do", () => {
      spec.given([placed, paid, ready]).when(approve).thenNothingHappened();
      spec.given([placed, paid, ready, pickedUp]).when(approve).thenNothingHappened();
    });
    it("refuses another payment for a paid order", () =>
      spec
        .given([placed, paid])
        .when({ type: "approve", paymentId: "pay-2" })
        .thenThrows(DomainError, refused("order-not-placed")));
    it("refuses an order that does not exist", () =>
      spec.given([]).when(approve).thenThrows(DomainError, refused("order-not-found")));
    it("refuses a cancelled order", () =>
      spec.given([placed, cancelled]).when(approve).thenThrows(DomainError, refused("order-not-placed")));
  });

  describe("mark ready", () => {
    it("a paid order is ready", () => spec.given([placed, paid]).when(markReady).then([ready]));
    it("ready again is nothing to do, also once picked up", () => {
      spec.given([placed, paid, ready]).when(markReady).thenNothingHappened();
      spec.given([placed, paid, ready, pickedUp]).when(markReady).thenNothingHappened();
    });
    it("refuses an order not paid yet", () =>
      spec.given([placed]).when(markReady).thenThrows(DomainError, refused("order-not-paid")));
    it("refuses a cancelled order", () =>
      spec
        .given([placed, paid, cancelled])
        .when(markReady)
        .thenThrows(DomainError, refused("order-not-paid")));
    it("refuses an order that does not exist", () =>
      spec.given([]).when(markReady).thenThrows(DomainError, refused("order-not-found")));
  });

  describe("complete pickup", () => {
    it("a ready order is picked up", () => spec.given([placed, paid, ready]).when(pickup).then([pickedUp]));
    it("picked up again is nothing to do", () =>
      spec.given([placed, paid, ready, pickedUp]).when(pickup).thenNothingHappened());
    it("refuses an order not ready yet", () => {
      spec.given([placed]).when(pickup).thenThrows(DomainError, refused("order-not-ready"));
      spec.given([placed, paid]).when(pickup).thenThrows(DomainError, refused("order-not-ready"));
    });
    it("refuses a cancelled order", () =>
      spec.given([placed, cancelled]).when(pickup).thenThrows(DomainError, refused("order-not-ready")));
    it("refuses an order that does not exist", () =>
      spec.given([]).when(pickup).thenThrows(DomainError, refused("order-not-found")));
  });

  describe("cancel", () => {
    it("cancels an order before it is picked up, with the reason", () => {
      spec.given([placed]).when(cancel).then([cancelled]);
      spec.given([placed, paid]).when(cancel).then([cancelled]);
      spec.given([placed, paid, ready]).when(cancel).then([cancelled]);
    });
    it("cancelling a cancelled order is nothing to do (whatever the reason)", () => {
      spec.given([placed, cancelled]).when(cancel).thenNothingHappened();
      spec.given([placed, cancelled]).when({ type: "cancel", reason: "bot timeout" }).thenNothingHappened();
    });
    it("refuses an order already picked up", () =>
      spec
        .given([placed, paid, ready, pickedUp])
        .when(cancel)
        .thenThrows(DomainError, refused("order-picked-up")));
    it("refuses an order that does not exist", () =>
      spec.given([]).when(cancel).thenThrows(DomainError, refused("order-not-found")));
  });

  it("folds the history into the order's state", () => {
    let state = orderDecider.initialState();
    for (const event of [placed, paid, cancelled]) state = orderDecider.evolve(state, event);
    assert.deepEqual(state, {
      status: "cancelled",
      customerId: "ada",
      items,
      total: 1997,
      paymentId: "pay-1",
      reason: "payment refused",
    });
  });
});
