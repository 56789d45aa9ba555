// The read model (view `orders`) and the integration events, from the same projection: each domain
// event updates its order's row AND writes its public event into the outbox, in the projector's batch
// transaction with the checkpoint. So a domain event becomes exactly one integration event, even
// across crashes (no dual write), and the relay publishes it later.
import type { CloudEvent } from "@herald/cloudevents";
import type { ProjectionEvent, SqliteProjection } from "@herald/eventsourcing";
import { derivedEventId } from "@herald/sdk";
import {
  type OrderItem,
  OrderCancelled,
  type OrderStatus,
  type OrderView,
  OrderPaid,
  OrderPickedUp,
  OrderPlaced,
  OrderReady,
  type SqliteDatabase,
} from "@mallbots/contracts";
import { ORDER_EVENTS, type OrderEvent } from "./domain.js";

/** The name of the projection and of the view to query. */
export const ORDERS_VIEW = "orders";

interface OrderRow {
  order_id: string;
  customer_id: string;
  items: string;
  total: number;
  status: OrderStatus;
  payment_id: string | null;
  reason: string | null;
  placed_at: string;
  updated_at: string;
}

const CARRIED = ["correlationid", "causationid", "traceparent", "tracestate"] as const;

/** The public event of a domain event: a deterministic id, the order as subject, the cause's trace. */
export function integrationEvent(event: OrderEvent, stored: CloudEvent, orderId: string): CloudEvent {
  const attributes: Record<string, unknown> = {
    // Derived from the domain event: a replay of the projection re-creates the same id, and Herald's
    // source+id dedupe keeps one copy.
    id: derivedEventId(stored, 0),
    subject: orderId,
    ...(stored.time === undefined ? {} : { time: stored.time }),
  };
  for (const name of CARRIED) if (typeof stored[name] === "string") attributes[name] = stored[name];
  switch (event.type) {
    case "orders.domain.order-placed":
      return OrderPlaced.create({ ...attributes, data: event.data });
    case "orders.domain.order-paid":
      return OrderPaid.create({ ...attributes, data: { orderId, paymentId: event.data.paymentId } });
    case "orders.domain.order-ready":
      return OrderReady.create({ ...attributes, data: { orderId } });
    case "orders.domain.order-picked-up":
      return OrderPickedUp.create({ ...attributes, data: { orderId } });
    case "orders.domain.order-cancelled":
      return OrderCancelled.create({ ...attributes, data: { orderId, reason: event.data.reason } });
  }
}

/** The order of an event-store stream `order-<orderId>`. */
export function orderIdOf(stream: string): string {
  if (!stream.startsWith("order-")) throw new TypeError(`not an order stream: ${stream}`);
  return stream.slice("order-".length);
}

/** When the domain event happened (stored with it, so a rebuild writes the same times). */
const timeOf = (meta: ProjectionEvent) => meta.event.time ?? new Date(meta.recordedAt).toISOString();

/** The projection; `publish` adds to the outbox on the same database (inside the batch's transaction). */
export function ordersProjection(
  publish: (events: readonly CloudEvent[]) => void,
): SqliteProjection<typeof ORDER_EVENTS> {
  return {
    name: ORDERS_VIEW,
    events: ORDER_EVENTS,
    createTable(db, table) {
      const bare = table.replaceAll('"', "");
      db.exec(`CREATE TABLE ${table} (
        order_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, items TEXT NOT NULL, total INTEGER NOT NULL,
        status TEXT NOT NULL, payment_id TEXT, reason TEXT, placed_at TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE INDEX "${bare}_status" ON ${table} (status);
        CREATE INDEX "${bare}_customer" ON ${table} (customer_id);`);
    },
    apply(db, table, event, meta) {
      const orderId = orderIdOf(meta.stream);
      const at = timeOf(meta);
      const update = (status: OrderStatus, set = "", ...values: unknown[]) =>
        db
          .prepare(`UPDATE ${table} SET status = ?, updated_at = ?${set} WHERE order_id = ?`)
          .run(status, at, ...values, orderId);
      switch (event.type) {
        case "orders.domain.order-placed": {
          const { customerId, items, total } = event.data;
          db.prepare(
            `INSERT INTO ${table} (order_id, customer_id, items, total, status, placed_at, updated_at)
             VALUES (?, ?, ?, ?, 'placed', ?, ?)`,
          ).run(orderId, customerId, JSON.stringify(items), total, at, at);
          break;
        }
        case "orders.domain.order-paid":
          update("paid", ", payment_id = ?", event.data.paymentId);
          break;
        case "orders.domain.order-ready":
          update("ready");
          break;
        case "orders.domain.order-picked-up":
          update("picked-up");
          break;
        case "orders.domain.order-cancelled":
          update("cancelled", ", reason = ?", event.data.reason);
          break;
      }
      publish([integrationEvent(event, meta.event, orderId)]);
    },
  };
}

/** Queries on the view (the active generation, whatever a rebuild did); after the projector started. */
export function orderQueries(db: SqliteDatabase) {
  const toView = (row: OrderRow): OrderView => ({
    orderId: row.order_id,
    customerId: row.customer_id,
    items: JSON.parse(row.items) as OrderItem[],
    total: row.total,
    status: row.status,
    paymentId: row.payment_id,
    reason: row.reason,
    placedAt: row.placed_at,
    updatedAt: row.updated_at,
  });
  const one = db.prepare<[string], OrderRow>(`SELECT * FROM ${ORDERS_VIEW} WHERE order_id = ?`);
  const some = db.prepare<{ status: string | null; customer: string | null; limit: number }, OrderRow>(
    `SELECT * FROM ${ORDERS_VIEW}
     WHERE (:status IS NULL OR status = :status) AND (:customer IS NULL OR customer_id = :customer)
     ORDER BY placed_at DESC, order_id LIMIT :limit`,
  );
  return {
    get(orderId: string): OrderView | undefined {
      const row = one.get(orderId);
      return row === undefined ? undefined : toView(row);
    },
    /** The newest first. */
    list(filter: { readonly status?: string; readonly customerId?: string; readonly limit: number }) {
      const { status = null, customerId = null, limit } = filter;
      return some.all({ status, customer: customerId, limit }).map(toView);
    },
  };
}
