// The order saga in given/when/then (the real ProcessManager over an in-memory log, a test clock):
// the happy path, a refused payment, a bot timeout, a failed shopping, late replies, and a release
// nobody answers.
import { test } from "node:test";
import { SAGA_EVENTS, SAGA_STATUS } from "@herald/workflows";
import { workflowSpec } from "@herald/workflows/testing";
import {
  ApproveOrder,
  AssignShopping,
  AuthorizePayment,
  CancelShopping,
  CapturePayment,
  CompletePickup,
  HoldForPickup,
  MarkOrderReady,
  OrderHandedOver,
  OrderPaid,
  OrderPickedUp,
  OrderPlaced,
  OrderReady,
  PaymentAuthorized,
  PaymentCaptured,
  PaymentRefused,
  PaymentReleased,
  ReleasePayment,
  SAGA_NAME,
  SOURCES,
  ShoppingCancelled,
  ShoppingCompleted,
  ShoppingFailed,
} from "@mallbots/contracts";
import { orderSaga } from "../src/saga.js";

const BOT_TIMEOUT_MS = 60_000;
const RETRY_MS = 5_000;
const saga = orderSaga({ botTimeoutMs: BOT_TIMEOUT_MS, compensationRetryMs: RETRY_MS });

const orderId = "order-1";
const items = [
  { productId: "prod-tea", storeId: "store-greengrocer", name: "Green tea", price: 575, quantity: 2 },
];
/** A reply as a service sends it: about the order, in its conversation. */
const reply = (type: string, data: Record<string, unknown>, id?: string) => ({
  type,
  ...(id === undefined ? {} : { id }),
  source: "urn:mallbots:test",
  subject: orderId,
  correlationid: orderId,
  data: { orderId, ...data },
});
const placed = reply(OrderPlaced.type, { customerId: "cust-1", items, total: 1150 }, "placed-1");
const authorized = reply(PaymentAuthorized.type, { paymentId: "pay-1", amount: 1150 }, "authorized-1");
const paid = reply(OrderPaid.type, { paymentId: "pay-1" });
const shopped = reply(ShoppingCompleted.type, { taskId: "task-1", botId: "bot-1" });
const cancelled = reply(ShoppingCancelled.type, { taskId: "task-1" });
const released = reply(PaymentReleased.type, { paymentId: "pay-1" });
const cmd = (type: string, data: Record<string, unknown> = {}) => ({ type, data: { orderId, ...data } });
const outcome = (type: string, extra: Record<string, unknown> = {}) => ({
  type,
  data: { saga: SAGA_NAME, key: orderId, ...extra },
});

test("an order placed asks Payments to authorize: a command from the saga, in the order's conversation", async () => {
  await workflowSpec(saga)
    .given([])
    .when(placed)
    .then({
      status: SAGA_STATUS.running("authorize"),
      emitted: [
        {
          ...cmd(AuthorizePayment.type, { customerId: "cust-1", amount: 1150 }),
          source: SOURCES.saga,
          subject: orderId,
          correlationid: orderId,
          causationid: "placed-1",
        },
      ],
      timers: [],
    });
});

test("the happy path: authorize → approve → shop → ready → pickup → picked up → capture → completed", async () => {
  await workflowSpec(saga)
    .given([placed])
    .when([
      authorized,
      paid,
      shopped,
      reply(OrderReady.type, {}),
      reply(OrderHandedOver.type, { taskId: "task-1" }),
      reply(OrderPickedUp.type, {}),
      reply(PaymentCaptured.type, { paymentId: "pay-1", amount: 1150 }),
    ])
    .then({
      status: SAGA_STATUS.completed,
      emitted: [
        // ApproveOrder carries the paymentId folded in from PaymentAuthorized.
        { ...cmd(ApproveOrder.type, { paymentId: "pay-1" }), causationid: "authorized-1" },
        cmd(AssignShopping.type, { items }),
        cmd(MarkOrderReady.type),
        cmd(HoldForPickup.type),
        cmd(CompletePickup.type),
        cmd(CapturePayment.type),
        outcome(SAGA_EVENTS.completed),
      ],
      timers: [],
    });
});

test("only the shop step has a timer: the customer may take as long as they like to come", async () => {
  await workflowSpec(saga)
    .given([placed, authorized])
    .when(paid)
    .then({ status: SAGA_STATUS.running("shop"), timers: ["step"] });
  await workflowSpec(saga)
    .given([placed, authorized, paid, shopped, reply(OrderReady.type, {})])
    .when({ advance: 10 * BOT_TIMEOUT_MS })
    .then({ status: SAGA_STATUS.running("pickup"), emitted: [], timers: [] });
});

test("a refused payment: nothing to undo, the saga is compensated at once", async () => {
  await workflowSpec(saga)
    .given([placed])
    .when(reply(PaymentRefused.type, { reason: "over the limit" }))
    .then({
      status: SAGA_STATUS.compensated,
      emitted: [outcome(SAGA_EVENTS.compensated, { reason: "authorize failed" })],
      timers: [],
    });
});

test("a bot timeout: the shopping is cancelled, then the payment released, then compensated", async () => {
  // One millisecond early: still shopping.
  await workflowSpec(saga)
    .given([placed, authorized, paid])
    .when({ advance: BOT_TIMEOUT_MS - 1 })
    .then({ status: SAGA_STATUS.running("shop"), emitted: [], timers: ["step"] });
  await workflowSpec(saga)
    .given([placed, authorized, paid])
    .when([{ advance: BOT_TIMEOUT_MS }, cancelled, released])
    .then({
      status: SAGA_STATUS.compensated,
      emitted: [
        cmd(CancelShopping.type),
        outcome(SAGA_EVENTS.stepCompensated, { step: "shop", attempt: 1 }),
        cmd(ReleasePayment.type),
        outcome(SAGA_EVENTS.stepCompensated, { step: "authorize", attempt: 1 }),
        outcome(SAGA_EVENTS.compensated, { reason: "shop timed out" }),
      ],
      timers: [],
    });
});

test("a failed shopping: Depot dropped the task, so only the payment is released", async () => {
  await workflowSpec(saga)
    .given([placed, authorized, paid])
    .when([reply(ShoppingFailed.type, { taskId: "task-1", reason: "bot timeout" }), released])
    .then({
      status: SAGA_STATUS.compensated,
      emitted: [
        cmd(ReleasePayment.type),
        outcome(SAGA_EVENTS.stepCompensated, { step: "authorize", attempt: 1 }),
        outcome(SAGA_EVENTS.compensated, { reason: "shop failed" }),
      ],
      timers: [],
    });
});

test("late replies after compensation change nothing and send nothing", async () => {
  await workflowSpec(saga)
    .given([placed, authorized, paid, { advance: BOT_TIMEOUT_MS }, cancelled, released])
    .when([shopped, reply(OrderReady.type, {}), authorized, paid, { advance: 10 * RETRY_MS }])
    .then({ status: SAGA_STATUS.compensated, emitted: [], timers: [] });
});

test("a late ShoppingCompleted while the cancel is under way is ignored: the cancel goes on", async () => {
  await workflowSpec(saga)
    .given([placed, authorized, paid, { advance: BOT_TIMEOUT_MS }])
    .when([shopped, cancelled])
    .then({
      status: SAGA_STATUS.compensating("authorize"),
      emitted: [outcome(SAGA_EVENTS.stepCompensated, { step: "shop", attempt: 1 }), cmd(ReleasePayment.type)],
      timers: ["compensation-retry"],
    });
});

test("a refusal that comes after the authorization (a duplicate, a bug) does not undo the step", async () => {
  await workflowSpec(saga)
    .given([placed, authorized])
    .when(reply(PaymentRefused.type, { reason: "duplicate" }))
    .then({ status: SAGA_STATUS.running("approve"), emitted: [] });
});

test("a release nobody answers is resent, and after five attempts the saga fails visibly", async () => {
  await workflowSpec(saga)
    .given([placed, authorized, paid])
    .when([reply(ShoppingFailed.type, { taskId: "task-1", reason: "no bot" }), { advance: 5 * RETRY_MS }])
    .then({
      status: SAGA_STATUS.failed,
      emitted: [
        cmd(ReleasePayment.type),
        ...[1, 2, 3, 4].flatMap((attempt) => [
          outcome(SAGA_EVENTS.compensationAttemptFailed, { step: "authorize", attempt, reason: "no reply" }),
          cmd(ReleasePayment.type),
        ]),
        outcome(SAGA_EVENTS.compensationAttemptFailed, { step: "authorize", attempt: 5, reason: "no reply" }),
        outcome(SAGA_EVENTS.failed, { step: "authorize", attempt: 5, reason: "shop failed" }),
      ],
      timers: [],
    });
});
