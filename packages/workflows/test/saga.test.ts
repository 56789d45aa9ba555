// The order saga in given/when/then, with the test clock: forward path, payment failure, timeout,
// compensation retries until the saga gives up in a visible failed state.
import { test } from "node:test";
import { SAGA_EVENTS, SAGA_STATUS } from "@herald/workflows";
import { workflowSpec } from "@herald/workflows/testing";
import { orderSaga } from "./examples/order-saga/saga.js";

const saga = orderSaga({ paymentTimeoutMs: 10_000, compensationRetryMs: 3_000 });
const order = { orderId: "o1", sku: "tea", quantity: 2, amount: 30 };
const placed = { type: "order.placed", id: "p1", data: order };
const reserved = { type: "stock.reserved", id: "r1", data: { orderId: "o1", reservationId: "res-1" } };
const taken = { type: "payment.taken", id: "t1", data: { orderId: "o1", paymentId: "pay-1" } };
const outcome = (type: string, extra: Record<string, unknown> = {}) => ({
  type,
  data: { saga: "order", key: "o1", ...extra },
});

test("placing an order reserves stock and starts no timer yet", async () => {
  await workflowSpec(saga)
    .given([])
    .when(placed)
    .then({
      status: SAGA_STATUS.running("reserve"),
      emitted: [
        { type: "stock.reserve", data: { orderId: "o1", sku: "tea", quantity: 2 }, causationid: "p1" },
      ],
      timers: [],
    });
});

test("reserved → payment (with its timeout) → shipped → completed", async () => {
  await workflowSpec(saga)
    .given([placed])
    .when([reserved, taken, { type: "shipping.shipped", data: { orderId: "o1" } }])
    .then({
      status: SAGA_STATUS.completed,
      emitted: [
        { type: "payment.take", data: { orderId: "o1", amount: 30 } },
        { type: "shipping.ship", data: { orderId: "o1" } },
        outcome(SAGA_EVENTS.completed),
      ],
      timers: [],
    });
});

test("a payment failure releases the reservation, then the saga is compensated", async () => {
  await workflowSpec(saga)
    .given([placed, reserved])
    .when([
      { type: "payment.failed", data: { orderId: "o1", reason: "card declined" } },
      { type: "stock.released", data: { orderId: "o1" } },
    ])
    .then({
      status: SAGA_STATUS.compensated,
      emitted: [
        { type: "stock.release", data: { orderId: "o1" } },
        outcome(SAGA_EVENTS.stepCompensated, { step: "reserve", attempt: 1 }),
        outcome(SAGA_EVENTS.compensated, { reason: "pay failed" }),
      ],
    });
});

test("no payment answer within the timeout: refund, then release, in reverse order", async () => {
  await workflowSpec(saga)
    .given([placed, reserved])
    .when([
      { advance: 9_999 },
      { advance: 1 },
      { type: "payment.refunded", data: { orderId: "o1" } },
      { type: "stock.released", data: { orderId: "o1" } },
    ])
    .then({
      status: SAGA_STATUS.compensated,
      emitted: [
        { type: "payment.refund", data: { orderId: "o1" } },
        outcome(SAGA_EVENTS.stepCompensated, { step: "pay", attempt: 1 }),
        { type: "stock.release", data: { orderId: "o1" } },
        outcome(SAGA_EVENTS.stepCompensated, { step: "reserve", attempt: 1 }),
        outcome(SAGA_EVENTS.compensated, { reason: "pay timed out" }),
      ],
    });
});

test("the payment timer does not fire once the payment was taken", async () => {
  await workflowSpec(saga)
    .given([placed, reserved, taken])
    .when({ advance: 60_000 })
    .then({ status: SAGA_STATUS.running("ship"), emitted: [] });
});

test("a compensation is retried on a failure reply and when no reply comes; then the saga fails visibly", async () => {
  await workflowSpec(saga)
    .given([placed, reserved, { type: "payment.failed", data: { orderId: "o1" } }])
    .when([{ type: "stock.release-failed", data: { orderId: "o1" } }, { advance: 3_000 }, { advance: 3_000 }])
    .then({
      status: SAGA_STATUS.failed,
      emitted: [
        outcome(SAGA_EVENTS.compensationAttemptFailed, {
          step: "reserve",
          attempt: 1,
          reason: "stock.release-failed",
        }),
        { type: "stock.release", data: { orderId: "o1" } },
        outcome(SAGA_EVENTS.compensationAttemptFailed, { step: "reserve", attempt: 2, reason: "no reply" }),
        { type: "stock.release", data: { orderId: "o1" } },
        outcome(SAGA_EVENTS.compensationAttemptFailed, { step: "reserve", attempt: 3, reason: "no reply" }),
        outcome(SAGA_EVENTS.failed, { step: "reserve", attempt: 3, reason: "pay failed" }),
      ],
      timers: [],
    });
});

test("a reservation failure compensates nothing and ends compensated", async () => {
  await workflowSpec(saga)
    .given([placed])
    .when({ type: "stock.reservation-failed", data: { orderId: "o1" } })
    .then({
      status: SAGA_STATUS.compensated,
      emitted: [outcome(SAGA_EVENTS.compensated, { reason: "reserve failed" })],
    });
});

test("a wrong expectation fails the specification", async (t) => {
  await t.test("wrong status", async () => {
    const { rejects } = await import("node:assert/strict");
    await rejects(workflowSpec(saga).given([]).when(placed).then({ status: SAGA_STATUS.completed }));
    await rejects(workflowSpec(saga).given([]).when(placed).then({ emitted: [] }));
  });
});

test("docs/workflows.md's example: the payment timeout refunds, then releases", async () => {
  const documented = orderSaga({ paymentTimeoutMs: 30_000 });
  await workflowSpec(documented)
    .given([placed, reserved])
    .when([{ advance: 30_000 }, { type: "payment.refunded", data: { orderId: "o1" } }])
    .then({
      status: "compensating:reserve",
      emitted: [
        { type: "payment.refund", data: { orderId: "o1" } },
        { type: "herald.saga.step-compensated", data: { saga: "order", key: "o1", step: "pay", attempt: 1 } },
        { type: "stock.release", data: { orderId: "o1" } },
      ],
      timers: ["compensation-retry"],
    });
});

test("one long clock move fires each retry timer at its own time, the ones the firings start included", async () => {
  await workflowSpec(saga)
    .given([placed, reserved, { type: "payment.failed", data: { orderId: "o1" } }])
    .when({ advance: 60_000 })
    .then({
      status: SAGA_STATUS.failed,
      emitted: [
        outcome(SAGA_EVENTS.compensationAttemptFailed, { step: "reserve", attempt: 1, reason: "no reply" }),
        { type: "stock.release", data: { orderId: "o1" } },
        outcome(SAGA_EVENTS.compensationAttemptFailed, { step: "reserve", attempt: 2, reason: "no reply" }),
        { type: "stock.release", data: { orderId: "o1" } },
        outcome(SAGA_EVENTS.compensationAttemptFailed, { step: "reserve", attempt: 3, reason: "no reply" }),
        outcome(SAGA_EVENTS.failed, { step: "reserve", attempt: 3, reason: "pay failed" }),
      ],
    });
});
