import assert from "node:assert/strict";
import { test } from "node:test";
import { deciderSpec } from "@herald/eventsourcing/testing";
import { OrderRuleError, orderDecider } from "./fixtures/order.js";

const spec = deciderSpec(orderDecider);
const placed = { type: "shop.order.placed", data: { customer: "ada" } } as const;
const added = (quantity: number) =>
  ({ type: "shop.order.item-added", data: { sku: "tea", quantity } }) as const;

test("given/when/then: a command on the folded state gives the expected events", () => {
  spec.given([]).when({ type: "place", customer: "ada" }).then([placed]);
  spec.given([placed]).when({ type: "add", sku: "tea", quantity: 2 }).then(added(2));
  spec
    .given([placed, added(1)])
    .when({ type: "ship" })
    .then([{ type: "shop.order.shipped", data: {} }]);
});

test("thenNothingHappened: an idempotent command on a placed order", () => {
  spec.given([placed]).when({ type: "place", customer: "bob" }).thenNothingHappened();
});

test("thenThrows: business rules are typed domain errors with a code", () => {
  spec
    .given([placed])
    .when({ type: "ship" })
    .thenThrows(OrderRuleError, (e) => assert.equal(e.code, "order-empty"));
  spec.given([]).when({ type: "add", sku: "x", quantity: 1 }).thenThrows(OrderRuleError);
});

test("the specification fails when the decider does not do what it says", () => {
  assert.throws(
    () => spec.given([]).when({ type: "place", customer: "ada" }).then([]),
    assert.AssertionError,
  );
  assert.throws(
    () => spec.given([]).when({ type: "place", customer: "ada" }).thenNothingHappened(),
    assert.AssertionError,
  );
  assert.throws(
    () => spec.given([placed]).when({ type: "add", sku: "x", quantity: 1 }).thenThrows(OrderRuleError),
    assert.AssertionError,
  );
  // A different error class is not the expected one.
  assert.throws(() => spec.given([]).when({ type: "ship" }).thenThrows(RangeError), assert.AssertionError);
});
