// The order as an event-sourced decider: its private domain events (kept in Orders' own event store,
// never published as they are), its commands and the rules between them. Pure: no I/O, so every rule
// is a given/when/then specification (test/decider.test.ts).
import { type Decider, type DomainEventOf, DomainError } from "@herald/eventsourcing";
import { defineEvent } from "@herald/sdk";
import { OrderItem, type OrderStatus } from "@mallbots/contracts";
import { Type } from "@sinclair/typebox";

/** The `source` of the domain events (they stay in Orders' event store). */
export const DOMAIN_SOURCE = "urn:mallbots:orders:domain";

const Id = Type.String({ minLength: 1, maxLength: 100 });

const OrderPlaced = defineEvent({
  type: "orders.domain.order-placed",
  source: DOMAIN_SOURCE,
  schema: Type.Object({
    orderId: Id,
    customerId: Id,
    items: Type.Array(OrderItem, { minItems: 1 }),
    total: Type.Integer({ minimum: 0 }),
  }),
});
const OrderPaid = defineEvent({
  type: "orders.domain.order-paid",
  source: DOMAIN_SOURCE,
  schema: Type.Object({ paymentId: Id }),
});
const OrderReady = defineEvent({
  type: "orders.domain.order-ready",
  source: DOMAIN_SOURCE,
  schema: Type.Object({}),
});
const OrderPickedUp = defineEvent({
  type: "orders.domain.order-picked-up",
  source: DOMAIN_SOURCE,
  schema: Type.Object({}),
});
const OrderCancelled = defineEvent({
  type: "orders.domain.order-cancelled",
  source: DOMAIN_SOURCE,
  schema: Type.Object({ reason: Type.String() }),
});

/** The domain events by type (the command handler's and the projection's catalog). */
export const ORDER_EVENTS = {
  "orders.domain.order-placed": OrderPlaced,
  "orders.domain.order-paid": OrderPaid,
  "orders.domain.order-ready": OrderReady,
  "orders.domain.order-picked-up": OrderPickedUp,
  "orders.domain.order-cancelled": OrderCancelled,
} as const;
export type OrderEvent = DomainEventOf<typeof ORDER_EVENTS>;

export type OrderCommand =
  | {
      readonly type: "place";
      readonly orderId: string;
      readonly customerId: string;
      readonly items: readonly OrderItem[];
    }
  | { readonly type: "approve"; readonly paymentId: string }
  | { readonly type: "mark-ready" }
  | { readonly type: "complete-pickup" }
  | { readonly type: "cancel"; readonly reason: string };

export interface OrderState {
  /** "none": no order in this stream yet. */
  readonly status: "none" | OrderStatus;
  readonly customerId: string;
  readonly items: readonly OrderItem[];
  readonly total: number;
  readonly paymentId: string | undefined;
  readonly reason: string | undefined;
}

/** One stream per order in the event store. */
export const orderStream = (orderId: string) => `order-${orderId}`;

/** How far an order got on the happy path (cancelled is off it). */
const PROGRESS: Readonly<Record<OrderState["status"], number>> = {
  none: 0,
  placed: 1,
  paid: 2,
  ready: 3,
  "picked-up": 4,
  cancelled: -1,
};
const reached = (state: OrderState, status: OrderStatus) => PROGRESS[state.status] >= PROGRESS[status];

/** A refused command, e.g. `order-not-paid` when marking a placed order ready. */
function refuse(code: string, command: OrderCommand, state: OrderState): DomainError {
  return new DomainError(code, `cannot ${command.type} an order that is ${state.status}`);
}

export const orderDecider: Decider<OrderCommand, OrderState, OrderEvent> = {
  initialState: () => ({
    status: "none",
    customerId: "",
    items: [],
    total: 0,
    paymentId: undefined,
    reason: undefined,
  }),

  // A command whose effect is already in the history decides nothing ([]): a kiosk retrying its
  // order, a redelivered event or a saga resending its command is harmless.
  decide(command, state) {
    switch (command.type) {
      case "place": {
        if (state.status !== "none") return [];
        if (command.items.length === 0) throw new DomainError("order-empty", "an order needs an item");
        const total = command.items.reduce((sum, item) => sum + item.price * item.quantity, 0);
        const { orderId, customerId, items } = command;
        return [
          { type: "orders.domain.order-placed", data: { orderId, customerId, items: [...items], total } },
        ];
      }
      case "approve":
        if (state.status === "placed")
          return [{ type: "orders.domain.order-paid", data: { paymentId: command.paymentId } }];
        if (reached(state, "paid") && state.paymentId === command.paymentId) return [];
        throw refuse(state.status === "none" ? "order-not-found" : "order-not-placed", command, state);
      case "mark-ready":
        if (state.status === "paid") return [{ type: "orders.domain.order-ready", data: {} }];
        if (reached(state, "ready")) return [];
        throw refuse(state.status === "none" ? "order-not-found" : "order-not-paid", command, state);
      case "complete-pickup":
        if (state.status === "ready") return [{ type: "orders.domain.order-picked-up", data: {} }];
        if (state.status === "picked-up") return [];
        throw refuse(state.status === "none" ? "order-not-found" : "order-not-ready", command, state);
      case "cancel":
        if (state.status === "cancelled") return [];
        if (state.status === "none") throw refuse("order-not-found", command, state);
        if (state.status === "picked-up") throw refuse("order-picked-up", command, state);
        return [{ type: "orders.domain.order-cancelled", data: { reason: command.reason } }];
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case "orders.domain.order-placed": {
        const { customerId, items, total } = event.data;
        return { ...state, status: "placed", customerId, items, total };
      }
      case "orders.domain.order-paid":
        return { ...state, status: "paid", paymentId: event.data.paymentId };
      case "orders.domain.order-ready":
        return { ...state, status: "ready" };
      case "orders.domain.order-picked-up":
        return { ...state, status: "picked-up" };
      case "orders.domain.order-cancelled":
        return { ...state, status: "cancelled", reason: event.data.reason };
    }
  },
};
