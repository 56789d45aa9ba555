// Analytics' read model: one row per order with the moment each of its facts happened. Every figure
// is a query over it (figures.ts), so per day and overall come from the same rows, and a new figure
// needs no new table — only, when it needs a new fact, a rebuild.
//
// Each fact is written once (COALESCE keeps the first): an order cancelled twice, or a capture
// published twice under different ids, counts once. With `inbox: true` and the checkpoint in the
// same transaction, a restart or a redelivered page never applies an event twice either.
import type { SqliteProjection } from "@herald/eventsourcing";
import {
  OrderCancelled,
  OrderPaid,
  OrderPickedUp,
  OrderPlaced,
  OrderReady,
  PaymentCaptured,
} from "@mallbots/contracts";

/** The view the figures read (the projector keeps its table per generation behind it). */
export const ORDER_FACTS = "analytics_orders";

// Literal keys, so `event.type` discriminates the data below (the projector checks each key against
// its definition's type at start-up).
const events = {
  "mallbots.orders.order-placed": OrderPlaced,
  "mallbots.orders.order-paid": OrderPaid,
  "mallbots.orders.order-ready": OrderReady,
  "mallbots.orders.order-picked-up": OrderPickedUp,
  "mallbots.orders.order-cancelled": OrderCancelled,
  "mallbots.payments.payment-captured": PaymentCaptured,
};

/** The column holding when each simple fact happened. */
const MOMENT = {
  "mallbots.orders.order-paid": "paid_at",
  "mallbots.orders.order-ready": "ready_at",
  "mallbots.orders.order-picked-up": "picked_up_at",
} as const;

export const orderFacts: SqliteProjection<typeof events> = {
  name: ORDER_FACTS,
  events,
  createTable: (db, table) =>
    db.exec(`CREATE TABLE ${table} (
      order_id TEXT PRIMARY KEY,
      customer_id TEXT,
      items TEXT,            -- JSON, the OrderPlaced items (products sold count when picked up)
      total INTEGER,
      placed_at INTEGER,     -- ms since the epoch, from each event's time
      paid_at INTEGER,
      ready_at INTEGER,
      picked_up_at INTEGER,
      cancelled_at INTEGER,
      cancel_reason TEXT,
      captured_at INTEGER,
      captured INTEGER       -- cents
    )`),
  apply(db, table, event, meta) {
    // When it happened: the event's own time (the producer's clock), else when Herald stored it.
    const at = meta.event.time ? Date.parse(meta.event.time) : meta.recordedAt;
    const { orderId } = event.data;
    switch (event.type) {
      case "mallbots.orders.order-placed": {
        const { customerId, items, total } = event.data;
        db.prepare(
          `INSERT INTO ${table} (order_id, customer_id, items, total, placed_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (order_id) DO UPDATE SET customer_id = excluded.customer_id, items = excluded.items,
             total = excluded.total, placed_at = COALESCE(placed_at, excluded.placed_at)`,
        ).run(orderId, customerId, JSON.stringify(items), total, at);
        return;
      }
      case "mallbots.orders.order-cancelled":
        db.prepare(
          `INSERT INTO ${table} (order_id, cancelled_at, cancel_reason) VALUES (?, ?, ?)
           ON CONFLICT (order_id) DO UPDATE SET cancelled_at = COALESCE(cancelled_at, excluded.cancelled_at),
             cancel_reason = COALESCE(cancel_reason, excluded.cancel_reason)`,
        ).run(orderId, at, event.data.reason);
        return;
      case "mallbots.payments.payment-captured":
        db.prepare(
          `INSERT INTO ${table} (order_id, captured_at, captured) VALUES (?, ?, ?)
           ON CONFLICT (order_id) DO UPDATE SET captured_at = COALESCE(captured_at, excluded.captured_at),
             captured = COALESCE(captured, excluded.captured)`,
        ).run(orderId, at, event.data.amount);
        return;
      default: {
        const column = MOMENT[event.type];
        db.prepare(
          `INSERT INTO ${table} (order_id, ${column}) VALUES (?, ?)
           ON CONFLICT (order_id) DO UPDATE SET ${column} = COALESCE(${column}, excluded.${column})`,
        ).run(orderId, at);
      }
    }
  },
};
