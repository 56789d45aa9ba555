// The wire contract of MallBots: every event and command the services exchange through Herald, each
// declared once with its data schema (TypeBox). Types are `mallbots.<service>.<name>`; the service
// that owns the type is the only one that publishes it.
//
// Three styles, on purpose (see docs/mallbots.md):
// - event-carried state transfer: the Stores catalog events carry the full product, so Orders and
//   Depot keep local copies and never call Stores;
// - notifications: `payment-received` carries the payment id only, the details are a query
//   (GET /payments/:id on Payments);
// - commands and replies: the saga (orchestrated flow) sends `mallbots.<service>.<verb>` commands,
//   the service answers with its events.
import { defineEvent } from "@herald/sdk";
import { type Static, Type } from "@sinclair/typebox";
import { SOURCES } from "./names.js";

const Id = Type.String({ minLength: 1, maxLength: 100 });
/** Money is integer cents. */
const Cents = Type.Integer({ minimum: 0 });

// ---------- Stores: the catalog, as event-carried state transfer ----------

export const Store = Type.Object({
  storeId: Id,
  name: Type.String({ minLength: 1 }),
  location: Type.String(),
});
export type Store = Static<typeof Store>;

export const Product = Type.Object({
  productId: Id,
  storeId: Id,
  name: Type.String({ minLength: 1 }),
  description: Type.String(),
  sku: Type.String(),
  price: Cents,
});
export type Product = Static<typeof Product>;

export const StoreCreated = defineEvent({
  type: "mallbots.stores.store-created",
  source: SOURCES.stores,
  schema: Store,
});
/** The full product, so consumers replace their copy (last write by position wins). */
export const ProductAdded = defineEvent({
  type: "mallbots.stores.product-added",
  source: SOURCES.stores,
  schema: Product,
});
export const ProductUpdated = defineEvent({
  type: "mallbots.stores.product-updated",
  source: SOURCES.stores,
  schema: Product,
});
export const ProductRemoved = defineEvent({
  type: "mallbots.stores.product-removed",
  source: SOURCES.stores,
  schema: Type.Object({ productId: Id, storeId: Id }),
});

// ---------- Orders: integration events (its domain events stay in its own event store) ----------

export const OrderItem = Type.Object({
  productId: Id,
  storeId: Id,
  /** Copied from the catalog when the order was placed. */
  name: Type.String(),
  price: Cents,
  quantity: Type.Integer({ minimum: 1, maximum: 99 }),
});
export type OrderItem = Static<typeof OrderItem>;

export const OrderPlaced = defineEvent({
  type: "mallbots.orders.order-placed",
  source: SOURCES.orders,
  schema: Type.Object({
    orderId: Id,
    customerId: Id,
    items: Type.Array(OrderItem, { minItems: 1 }),
    total: Cents,
  }),
});
export const OrderPaid = defineEvent({
  type: "mallbots.orders.order-paid",
  source: SOURCES.orders,
  schema: Type.Object({ orderId: Id, paymentId: Id }),
});
export const OrderReady = defineEvent({
  type: "mallbots.orders.order-ready",
  source: SOURCES.orders,
  schema: Type.Object({ orderId: Id }),
});
export const OrderPickedUp = defineEvent({
  type: "mallbots.orders.order-picked-up",
  source: SOURCES.orders,
  schema: Type.Object({ orderId: Id }),
});
export const OrderCancelled = defineEvent({
  type: "mallbots.orders.order-cancelled",
  source: SOURCES.orders,
  schema: Type.Object({ orderId: Id, reason: Type.String() }),
});

// Commands the saga sends to Orders.
export const ApproveOrder = defineEvent({
  type: "mallbots.orders.approve-order",
  source: SOURCES.saga,
  schema: Type.Object({ orderId: Id, paymentId: Id }),
});
export const MarkOrderReady = defineEvent({
  type: "mallbots.orders.mark-ready",
  source: SOURCES.saga,
  schema: Type.Object({ orderId: Id }),
});
export const CompletePickup = defineEvent({
  type: "mallbots.orders.complete-pickup",
  source: SOURCES.saga,
  schema: Type.Object({ orderId: Id }),
});

// ---------- Payments ----------

export const PaymentAuthorized = defineEvent({
  type: "mallbots.payments.payment-authorized",
  source: SOURCES.payments,
  schema: Type.Object({ orderId: Id, paymentId: Id, amount: Cents }),
});
export const PaymentRefused = defineEvent({
  type: "mallbots.payments.payment-refused",
  source: SOURCES.payments,
  schema: Type.Object({ orderId: Id, reason: Type.String() }),
});
/** The authorization is given back (also answered for an order that never had one: idempotent). */
export const PaymentReleased = defineEvent({
  type: "mallbots.payments.payment-released",
  source: SOURCES.payments,
  schema: Type.Object({ orderId: Id, paymentId: Type.Optional(Id) }),
});
export const PaymentCaptured = defineEvent({
  type: "mallbots.payments.payment-captured",
  source: SOURCES.payments,
  schema: Type.Object({ orderId: Id, paymentId: Id, amount: Cents }),
});
/** A pure notification: the id only. The details are GET /payments/:paymentId on Payments. */
export const PaymentReceived = defineEvent({
  type: "mallbots.payments.payment-received",
  source: SOURCES.payments,
  schema: Type.Object({ paymentId: Id }),
});

// Commands the saga sends to Payments.
export const AuthorizePayment = defineEvent({
  type: "mallbots.payments.authorize-payment",
  source: SOURCES.saga,
  schema: Type.Object({ orderId: Id, customerId: Id, amount: Cents }),
});
export const ReleasePayment = defineEvent({
  type: "mallbots.payments.release-payment",
  source: SOURCES.saga,
  schema: Type.Object({ orderId: Id }),
});
export const CapturePayment = defineEvent({
  type: "mallbots.payments.capture-payment",
  source: SOURCES.saga,
  schema: Type.Object({ orderId: Id }),
});

// ---------- Depot: shopping tasks, bots, pickup ----------

/** One store a bot visits, with what to take there (names from Depot's copy of the catalog). */
export const ShoppingStop = Type.Object({
  storeId: Id,
  storeName: Type.String(),
  location: Type.String(),
  items: Type.Array(
    Type.Object({ productId: Id, name: Type.String(), quantity: Type.Integer({ minimum: 1 }) }),
  ),
});
export type ShoppingStop = Static<typeof ShoppingStop>;

/** Task states, in order: queued → shopping → shopped → awaiting-pickup → picked-up; or cancelled. */
export const TASK_STATUS = [
  "queued",
  "shopping",
  "shopped",
  "awaiting-pickup",
  "picked-up",
  "cancelled",
] as const;
export type TaskStatus = (typeof TASK_STATUS)[number];

export const TaskCreated = defineEvent({
  type: "mallbots.depot.task-created",
  source: SOURCES.depot,
  schema: Type.Object({ taskId: Id, orderId: Id, stops: Type.Array(ShoppingStop) }),
});
/** A bot got the task; the gateway forwards this to the bot's stream. */
export const BotDispatched = defineEvent({
  type: "mallbots.depot.bot-dispatched",
  source: SOURCES.depot,
  schema: Type.Object({ botId: Id, taskId: Id, orderId: Id, stops: Type.Array(ShoppingStop) }),
});
/** The bot must drop the task (it was cancelled); forwarded to the bot's stream. */
export const BotRecalled = defineEvent({
  type: "mallbots.depot.bot-recalled",
  source: SOURCES.depot,
  schema: Type.Object({ botId: Id, taskId: Id, orderId: Id }),
});
/** A bot's progress at one stop (for the staff page). */
export const StopShopped = defineEvent({
  type: "mallbots.depot.stop-shopped",
  source: SOURCES.depot,
  schema: Type.Object({ botId: Id, taskId: Id, orderId: Id, storeId: Id }),
});
export const ShoppingCompleted = defineEvent({
  type: "mallbots.depot.shopping-completed",
  source: SOURCES.depot,
  schema: Type.Object({ taskId: Id, orderId: Id, botId: Id }),
});
export const ShoppingFailed = defineEvent({
  type: "mallbots.depot.shopping-failed",
  source: SOURCES.depot,
  schema: Type.Object({ taskId: Id, orderId: Id, reason: Type.String() }),
});
/** Cancelled (also answered for an order with no task: idempotent). */
export const ShoppingCancelled = defineEvent({
  type: "mallbots.depot.shopping-cancelled",
  source: SOURCES.depot,
  schema: Type.Object({ orderId: Id, taskId: Type.Optional(Id) }),
});
export const OrderHandedOver = defineEvent({
  type: "mallbots.depot.order-handed-over",
  source: SOURCES.depot,
  schema: Type.Object({ orderId: Id, taskId: Id }),
});
/** Depot's own timer in the choreography (scheduled with `deliverat`): the task's bot deadline. */
export const TaskDeadline = defineEvent({
  type: "mallbots.depot.task-deadline",
  source: SOURCES.depot,
  schema: Type.Object({ taskId: Id, orderId: Id }),
});

// Commands the saga sends to Depot.
export const AssignShopping = defineEvent({
  type: "mallbots.depot.assign-shopping",
  source: SOURCES.saga,
  schema: Type.Object({ orderId: Id, items: Type.Array(OrderItem, { minItems: 1 }) }),
});
export const CancelShopping = defineEvent({
  type: "mallbots.depot.cancel-shopping",
  source: SOURCES.saga,
  schema: Type.Object({ orderId: Id }),
});
/** The order is ready and paid for: the depot may hand it over when the customer comes. */
export const HoldForPickup = defineEvent({
  type: "mallbots.depot.hold-for-pickup",
  source: SOURCES.saga,
  schema: Type.Object({ orderId: Id }),
});

/** Every event definition by type (schemas registered in herald serve's registry by the services). */
export const CATALOG = Object.freeze(
  Object.fromEntries(
    [
      StoreCreated,
      ProductAdded,
      ProductUpdated,
      ProductRemoved,
      OrderPlaced,
      OrderPaid,
      OrderReady,
      OrderPickedUp,
      OrderCancelled,
      ApproveOrder,
      MarkOrderReady,
      CompletePickup,
      PaymentAuthorized,
      PaymentRefused,
      PaymentReleased,
      PaymentCaptured,
      PaymentReceived,
      AuthorizePayment,
      ReleasePayment,
      CapturePayment,
      TaskCreated,
      BotDispatched,
      BotRecalled,
      StopShopped,
      ShoppingCompleted,
      ShoppingFailed,
      ShoppingCancelled,
      OrderHandedOver,
      TaskDeadline,
      AssignShopping,
      CancelShopping,
      HoldForPickup,
    ].map((definition) => [definition.type, definition]),
  ),
);
