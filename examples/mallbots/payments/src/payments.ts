// The payments of the mall: one row per order (authorized → released | captured). Each handling of a
// command or event is one transaction: the inbox (a redelivered event is handled once), the row, and
// the answer in the outbox. Idempotent by order too: a second command for the same order (another id)
// answers the same event again, with the same id, so Herald's source+id dedupe keeps one.
import { createHash } from "node:crypto";
import type { CloudEvent } from "@herald/cloudevents";
import { inboxKey, NonRetryableError, type TransactionalInbox } from "@herald/sdk";
import {
  follow,
  PaymentAuthorized,
  PaymentCaptured,
  PaymentReceived,
  PaymentRefused,
  PaymentReleased,
  type SqliteDatabase,
} from "@mallbots/contracts";
import { type Static, Type } from "@sinclair/typebox";

export const PAYMENT_STATUS = ["authorized", "released", "captured"] as const;
export type PaymentStatus = (typeof PAYMENT_STATUS)[number];

/** A payment's details: what `GET /payments/:paymentId` answers (payment-received carries the id only). */
export const Payment = Type.Object({
  paymentId: Type.String(),
  orderId: Type.String(),
  customerId: Type.String(),
  /** Cents. */
  amount: Type.Integer(),
  status: Type.Union(PAYMENT_STATUS.map((s) => Type.Literal(s))),
  authorizedAt: Type.String({ format: "date-time" }),
  releasedAt: Type.Optional(Type.String({ format: "date-time" })),
  capturedAt: Type.Optional(Type.String({ format: "date-time" })),
});
export type Payment = Static<typeof Payment>;

export interface Authorization {
  readonly orderId: string;
  readonly customerId: string;
  readonly amount: number;
}

/** Why an authorization is refused, or undefined: over the limit, or a customer with no money. */
export function refusalOf(request: Authorization, limit: number): string | undefined {
  if (request.amount > limit) return `amount ${request.amount} is over the limit of ${limit}`;
  if (request.customerId.startsWith("broke-")) return "insufficient funds";
  return undefined;
}

interface PaymentRow {
  payment_id: string;
  order_id: string;
  customer_id: string;
  amount: number;
  status: PaymentStatus;
  authorized_at: string;
  released_at: string | null;
  captured_at: string | null;
}

const toPayment = (row: PaymentRow): Payment => ({
  paymentId: row.payment_id,
  orderId: row.order_id,
  customerId: row.customer_id,
  amount: row.amount,
  status: row.status,
  authorizedAt: row.authorized_at,
  ...(row.released_at === null ? {} : { releasedAt: row.released_at }),
  ...(row.captured_at === null ? {} : { capturedAt: row.captured_at }),
});

export interface PaymentsOptions {
  readonly db: SqliteDatabase;
  readonly inbox: TransactionalInbox;
  /** Adds events to the outbox inside the caller's transaction (sqliteOutbox(db).add). */
  readonly outbox: (events: readonly CloudEvent[]) => void;
  /** Refuse authorizations above this many cents. */
  readonly limit: number;
}

export class Payments {
  readonly #db: SqliteDatabase;
  readonly #inbox: TransactionalInbox;
  readonly #outbox: (events: readonly CloudEvent[]) => void;
  readonly #limit: number;

  constructor(options: PaymentsOptions) {
    this.#db = options.db;
    this.#inbox = options.inbox;
    this.#outbox = options.outbox;
    this.#limit = options.limit;
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS payments (
        payment_id TEXT PRIMARY KEY, order_id TEXT NOT NULL UNIQUE, customer_id TEXT NOT NULL,
        amount INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('authorized', 'released', 'captured')),
        authorized_at TEXT NOT NULL, released_at TEXT, captured_at TEXT)`);
  }

  payment(paymentId: string): Payment | undefined {
    const row = this.#db
      .prepare<[string], PaymentRow>("SELECT * FROM payments WHERE payment_id = ?")
      .get(paymentId);
    return row && toPayment(row);
  }

  /** Newest first; one order has at most one payment. */
  list(query: { readonly orderId?: string; readonly limit: number }): Payment[] {
    const rows =
      query.orderId === undefined
        ? this.#db
            .prepare<[number], PaymentRow>("SELECT * FROM payments ORDER BY authorized_at DESC LIMIT ?")
            .all(query.limit)
        : this.#db
            .prepare<[string], PaymentRow>("SELECT * FROM payments WHERE order_id = ?")
            .all(query.orderId);
    return rows.map(toPayment);
  }

  authorize(cause: CloudEvent, request: Authorization): void {
    this.#once(cause, () => {
      const { orderId } = request;
      const existing = this.#byOrder(orderId);
      if (existing) return [authorized(cause, existing)];
      const reason = refusalOf(request, this.#limit);
      if (reason !== undefined) {
        return [
          PaymentRefused.create({
            ...answer(cause, orderId, `${orderId}:refused`),
            data: { orderId, reason },
          }),
        ];
      }
      const payment: Payment = {
        paymentId: paymentIdOf(orderId),
        orderId,
        customerId: request.customerId,
        amount: request.amount,
        status: "authorized",
        authorizedAt: new Date().toISOString(),
      };
      this.#db
        .prepare(
          `INSERT INTO payments (payment_id, order_id, customer_id, amount, status, authorized_at)
           VALUES (@paymentId, @orderId, @customerId, @amount, @status, @authorizedAt)`,
        )
        .run(payment);
      return [authorized(cause, payment)];
    });
  }

  /** Gives the authorization back; answered for an order with no payment too (nothing to release). */
  release(cause: CloudEvent, orderId: string): void {
    this.#once(cause, () => {
      const payment = this.#byOrder(orderId);
      if (payment === undefined) {
        const id = `${orderId}:released`;
        return [PaymentReleased.create({ ...answer(cause, orderId, id), data: { orderId } })];
      }
      const { paymentId, status } = payment;
      if (status === "captured")
        throw new NonRetryableError(`payment ${paymentId} of order ${orderId} is captured: no release`);
      if (status === "authorized") this.#setStatus(paymentId, "released", "released_at");
      const id = `${paymentId}:released`;
      return [PaymentReleased.create({ ...answer(cause, orderId, id), data: { orderId, paymentId } })];
    });
  }

  /** Takes the money: PaymentCaptured, and PaymentReceived (the id only) for whoever wants to know. */
  capture(cause: CloudEvent, orderId: string): void {
    this.#once(cause, () => {
      const payment = this.#byOrder(orderId);
      // A correct flow never captures what it did not authorize or already released.
      if (payment === undefined) throw new NonRetryableError(`order ${orderId} has no payment to capture`);
      if (payment.status === "released")
        throw new NonRetryableError(
          `payment ${payment.paymentId} of order ${orderId} was released: no capture`,
        );
      if (payment.status === "authorized") this.#setStatus(payment.paymentId, "captured", "captured_at");
      const { paymentId, amount } = payment;
      return [
        PaymentCaptured.create({
          ...answer(cause, orderId, `${paymentId}:captured`),
          data: { orderId, paymentId, amount },
        }),
        PaymentReceived.create({ ...answer(cause, orderId, `${paymentId}:received`), data: { paymentId } }),
      ];
    });
  }

  /** Handles `cause` once: inbox, state and outbox commit together or not at all. */
  #once(cause: CloudEvent, decide: () => readonly CloudEvent[]): void {
    this.#db.transaction(() => {
      if (!this.#inbox.firstTime(inboxKey(cause))) return;
      this.#outbox(decide());
    })();
  }

  #byOrder(orderId: string): Payment | undefined {
    const row = this.#db
      .prepare<[string], PaymentRow>("SELECT * FROM payments WHERE order_id = ?")
      .get(orderId);
    return row && toPayment(row);
  }

  #setStatus(paymentId: string, status: PaymentStatus, column: "released_at" | "captured_at"): void {
    this.#db
      .prepare(`UPDATE payments SET status = ?, ${column} = ? WHERE payment_id = ?`)
      .run(status, new Date().toISOString(), paymentId);
  }
}

/**
 * An order has one payment, so its id is derived from the order (opaque: a hash). Handled again
 * into an empty database (a replay of the subscription), an order gets the same answers, same ids.
 */
export function paymentIdOf(orderId: string): string {
  return `pay-${createHash("sha256").update(orderId).digest("hex").slice(0, 24)}`;
}

function authorized(cause: CloudEvent, payment: Payment): CloudEvent {
  const { orderId, paymentId, amount } = payment;
  return PaymentAuthorized.create({
    ...answer(cause, orderId, `${paymentId}:authorized`),
    data: { orderId, paymentId, amount },
  });
}

/**
 * Attributes of an answer about `orderId`: the order as subject, the cause's conversation, and an id
 * of the payment (or the order, when it has none) and the outcome: the same however often it is asked.
 */
function answer(cause: CloudEvent, orderId: string, id: string) {
  return { ...follow(cause), id, subject: orderId };
}
