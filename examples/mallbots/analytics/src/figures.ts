// The figures, as queries over the order facts. A day's figures count each fact on the day (UTC) it
// happened: an order placed at 23:50 and picked up at 00:50 counts as placed on the first day and
// picked up (with its products and its time to pickup) on the second.
import type { SqliteDatabase } from "@mallbots/contracts";
import { type Static, Type } from "@sinclair/typebox";
import { ORDER_FACTS } from "./projection.js";

export const Figures = Type.Object({
  orders: Type.Object({
    placed: Type.Integer(),
    paid: Type.Integer(),
    ready: Type.Integer(),
    pickedUp: Type.Integer(),
    cancelled: Type.Integer(),
  }),
  cancelledByReason: Type.Record(Type.String(), Type.Integer()),
  /** Cents, from PaymentCaptured. */
  revenueCaptured: Type.Integer(),
  /** Products of the orders picked up, most sold first (at most 10). */
  topProducts: Type.Array(
    Type.Object({ productId: Type.String(), name: Type.String(), quantity: Type.Integer() }),
  ),
  /** Placed → picked up, over the orders picked up; null before the first pickup. */
  meanMinutesToPickup: Type.Union([Type.Number(), Type.Null()]),
});
export type Figures = Static<typeof Figures>;

export const Day = Type.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}$", description: "YYYY-MM-DD (UTC)" });

const TOP_PRODUCTS = 10;

/** `col` is set (and, for a day, fell on that day). Column names are ours, never the caller's. */
function when(column: string, day: string | undefined): { sql: string; params: string[] } {
  return day === undefined
    ? { sql: `${column} IS NOT NULL`, params: [] }
    : { sql: `date(${column} / 1000, 'unixepoch') = ?`, params: [day] };
}

export function figures(db: SqliteDatabase, day?: string): Figures {
  const count = (column: string) => {
    const w = when(column, day);
    return db
      .prepare<string[], { n: number }>(`SELECT COUNT(*) AS n FROM ${ORDER_FACTS} WHERE ${w.sql}`)
      .get(...w.params)!.n;
  };
  const cancelled = when("cancelled_at", day);
  const captured = when("captured_at", day);
  const pickedUp = when("picked_up_at", day);
  const reasons = db
    .prepare<string[], { reason: string; n: number }>(
      `SELECT cancel_reason AS reason, COUNT(*) AS n FROM ${ORDER_FACTS} WHERE ${cancelled.sql}
       GROUP BY cancel_reason ORDER BY cancel_reason`,
    )
    .all(...cancelled.params);
  const revenue = db
    .prepare<string[], { cents: number }>(
      `SELECT COALESCE(SUM(captured), 0) AS cents FROM ${ORDER_FACTS} WHERE ${captured.sql}`,
    )
    .get(...captured.params)!.cents;
  const topProducts = db
    .prepare<string[], { productId: string; name: string; quantity: number }>(
      `SELECT json_extract(item.value, '$.productId') AS productId, MAX(json_extract(item.value, '$.name')) AS name,
              SUM(json_extract(item.value, '$.quantity')) AS quantity
       FROM ${ORDER_FACTS} AS o, json_each(o.items) AS item
       WHERE ${pickedUp.sql} AND o.items IS NOT NULL
       GROUP BY productId ORDER BY quantity DESC, productId LIMIT ${TOP_PRODUCTS}`,
    )
    .all(...pickedUp.params);
  const mean = db
    .prepare<string[], { ms: number | null }>(
      `SELECT AVG(picked_up_at - placed_at) AS ms FROM ${ORDER_FACTS}
       WHERE ${pickedUp.sql} AND placed_at IS NOT NULL`,
    )
    .get(...pickedUp.params)!.ms;
  return {
    orders: {
      placed: count("placed_at"),
      paid: count("paid_at"),
      ready: count("ready_at"),
      pickedUp: count("picked_up_at"),
      cancelled: count("cancelled_at"),
    },
    cancelledByReason: Object.fromEntries(reasons.map((r) => [r.reason, r.n])),
    revenueCaptured: revenue,
    topProducts,
    meanMinutesToPickup: mean === null ? null : Math.round(mean / 6_000) / 10,
  };
}

/** The days (UTC) on which any fact happened, oldest first. */
export function days(db: SqliteDatabase): string[] {
  const columns = ["placed_at", "paid_at", "ready_at", "picked_up_at", "cancelled_at", "captured_at"];
  const union = columns
    .map((c) => `SELECT date(${c} / 1000, 'unixepoch') AS day FROM ${ORDER_FACTS} WHERE ${c} IS NOT NULL`)
    .join(" UNION ");
  return db
    .prepare<[], { day: string }>(`${union} ORDER BY day`)
    .all()
    .map((r) => r.day);
}
