// The order saga of the orchestrated flow: one instance per order (keyed by data.orderId), seven
// steps, each a command to one service and the reply it waits for. A refused payment, a failed
// shopping or a bot that takes longer than the shop step's timeout compensates what was done, last
// first: the shopping task is cancelled (after a timeout: the bot may still be at it) and the payment
// authorization released. Orders hears the outcome (herald.saga.compensated / failed) and cancels the
// order; nobody else needs to know the saga exists.
import type { CloudEvent } from "@herald/cloudevents";
import type { EventDefinition } from "@herald/sdk";
import { defineSaga, type EmittedInit } from "@herald/workflows";
import {
  ApproveOrder,
  AssignShopping,
  CancelShopping,
  CapturePayment,
  CompletePickup,
  HoldForPickup,
  MarkOrderReady,
  type OrderItem,
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
  AuthorizePayment,
} from "@mallbots/contracts";

/** What the saga keeps about its order (stored with every step, so JSON only). */
export interface OrderSagaData {
  readonly orderId: string;
  readonly customerId: string;
  readonly amount: number;
  readonly items: readonly OrderItem[];
  /** From PaymentAuthorized: ApproveOrder needs it. */
  readonly paymentId?: string;
}

export interface OrderSagaOptions {
  /** No ShoppingCompleted within this time: cancel the shopping, release the payment. */
  readonly botTimeoutMs: number;
  /** A compensating command without an answer is resent after this long (default 10 s). */
  readonly compensationRetryMs?: number;
}

/**
 * A command about the order: validated against its contract now (a bug here is a thrown error in the
 * orchestrator, not an event every consumer refuses), with no id, so the process manager gives it one
 * derived from the instance and step (a redelivered step re-sends the same id; Herald keeps one).
 */
function command<T>(definition: EventDefinition<T>, data: T & { orderId: string }): EmittedInit {
  const issues = definition.check(data);
  if (issues.length > 0)
    throw new TypeError(`${definition.type}: ${issues.map((i) => `${i.path} ${i.message}`).join("; ")}`);
  return {
    type: definition.type,
    source: SOURCES.saga,
    subject: data.orderId,
    datacontenttype: "application/json",
    data,
  };
}

const orderIdOf = (event: CloudEvent): string | undefined => {
  const data = event.data as { orderId?: unknown } | undefined;
  return typeof data?.orderId === "string" ? data.orderId : undefined;
};

export function orderSaga(options: OrderSagaOptions) {
  return defineSaga<OrderSagaData>({
    name: SAGA_NAME,
    start: OrderPlaced.type,
    // Every command and reply names the order; the correlationid would do too, but the data is the
    // contract every service keeps.
    correlate: orderIdOf,
    init: (event) => {
      const { orderId, customerId, total, items } = OrderPlaced.parse(event).data;
      return { orderId, customerId, amount: total, items };
    },
    compensation: { maxAttempts: 5, retryAfterMs: options.compensationRetryMs ?? 10_000 },
    steps: [
      {
        name: "authorize",
        command: (o) =>
          command(AuthorizePayment, { orderId: o.orderId, customerId: o.customerId, amount: o.amount }),
        succeeded: PaymentAuthorized.type,
        failed: PaymentRefused.type,
        onSucceeded: (o, reply) => ({ ...o, paymentId: PaymentAuthorized.parse(reply).data.paymentId }),
        compensate: {
          command: (o) => command(ReleasePayment, { orderId: o.orderId }),
          succeeded: PaymentReleased.type,
        },
      },
      {
        name: "approve",
        command: (o) => command(ApproveOrder, { orderId: o.orderId, paymentId: o.paymentId ?? "" }),
        succeeded: OrderPaid.type,
      },
      {
        name: "shop",
        command: (o) => command(AssignShopping, { orderId: o.orderId, items: [...o.items] }),
        succeeded: ShoppingCompleted.type,
        // Depot has already dropped a task it reports failed: only the steps before it are undone.
        failed: ShoppingFailed.type,
        timeoutMs: options.botTimeoutMs,
        compensate: {
          command: (o) => command(CancelShopping, { orderId: o.orderId }),
          succeeded: ShoppingCancelled.type,
        },
      },
      {
        name: "ready",
        command: (o) => command(MarkOrderReady, { orderId: o.orderId }),
        succeeded: OrderReady.type,
      },
      {
        // Waits for the customer: no timeout.
        name: "pickup",
        command: (o) => command(HoldForPickup, { orderId: o.orderId }),
        succeeded: OrderHandedOver.type,
      },
      {
        name: "picked-up",
        command: (o) => command(CompletePickup, { orderId: o.orderId }),
        succeeded: OrderPickedUp.type,
      },
      {
        name: "capture",
        command: (o) => command(CapturePayment, { orderId: o.orderId }),
        succeeded: PaymentCaptured.type,
      },
    ],
  });
}
