// The outbox in the service's SQLite database (better-sqlite3). `add` runs inside the caller's
// transaction; claims run in an IMMEDIATE transaction, so relays on several connections or
// processes take turns and never lease the same row.
import { decodeJsonEvent } from "@herald/cloudevents";
import type { Database } from "better-sqlite3";
import { checkProjectionName } from "../projection/tables.js";
import { type OutboxRow, type OutboxStore, outboxInserts } from "./outbox.js";
import type { CloudEvent } from "@herald/cloudevents";

/** Runs one SQL statement of the caller's transaction (a Kysely, Drizzle or Knex transaction…). */
export type SqlExecutor = (sql: string, params: readonly unknown[]) => unknown;

export interface SqlOutbox<Add> {
  /** Writes the events as pending rows, in the caller's transaction. Key default: subject, else source. */
  readonly add: Add;
  /** The same through any query builder's raw SQL on its transaction. */
  addWith(execute: SqlExecutor, events: readonly CloudEvent[], key?: string): Promise<void>;
  readonly store: OutboxStore;
}

interface Row {
  seq: number;
  key: string;
  attempts: number;
  event: string;
}

export function sqliteOutbox(
  db: Database,
  options: { readonly table?: string } = {},
): SqlOutbox<(events: readonly CloudEvent[], key?: string) => void> {
  const table = options.table ?? "herald_outbox";
  checkProjectionName(table);
  db.exec(`CREATE TABLE IF NOT EXISTS "${table}" (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, event_id TEXT NOT NULL, source TEXT NOT NULL,
      type TEXT NOT NULL, event TEXT NOT NULL, created_at INTEGER NOT NULL, sent_at INTEGER,
      attempts INTEGER NOT NULL DEFAULT 0, lease_owner TEXT, lease_until INTEGER, last_error TEXT);
    CREATE INDEX IF NOT EXISTS "${table}_pending" ON "${table}" (key, seq) WHERE sent_at IS NULL;`);
  const insertSql = `INSERT INTO "${table}" (key, event_id, source, type, event, created_at) VALUES (?, ?, ?, ?, ?, ?)`;
  const insert = db.prepare(insertSql);
  const select = db.prepare<
    { now: number; limit: number },
    Row
  >(`SELECT seq, key, attempts, event FROM "${table}" o
    WHERE sent_at IS NULL AND (lease_until IS NULL OR lease_until <= :now)
      AND NOT EXISTS (SELECT 1 FROM "${table}" e
        WHERE e.key = o.key AND e.seq < o.seq AND e.sent_at IS NULL AND e.lease_until > :now)
    ORDER BY seq LIMIT :limit`);
  const lease = db.prepare(`UPDATE "${table}" SET lease_owner = ?, lease_until = ? WHERE seq = ?`);
  const sent = db.prepare(
    `UPDATE "${table}" SET sent_at = ?, lease_owner = NULL, lease_until = NULL WHERE seq = ?`,
  );
  const failed = db.prepare(
    `UPDATE "${table}" SET attempts = attempts + 1, last_error = ?, lease_owner = NULL, lease_until = ? WHERE seq = ?`,
  );
  const release = db.prepare(`UPDATE "${table}" SET lease_owner = NULL, lease_until = NULL WHERE seq = ?`);
  const pending = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM "${table}" WHERE sent_at IS NULL`);

  const claim = db.transaction((owner: string, limit: number, leaseMs: number): OutboxRow[] => {
    const now = Date.now();
    const rows = select.all({ now, limit });
    for (const row of rows) lease.run(owner, now + leaseMs, row.seq);
    return rows.map((r) => ({
      seq: r.seq,
      key: r.key,
      attempts: r.attempts,
      event: decodeJsonEvent(r.event),
    }));
  });
  const markSent = db.transaction((seqs: readonly number[]) => {
    const now = Date.now();
    for (const seq of seqs) sent.run(now, seq);
  });
  const markFailed = db.transaction(
    (seq: number, others: readonly number[], error: string, retryAt: number) => {
      failed.run(error, retryAt, seq);
      for (const other of others) release.run(other);
    },
  );
  const add = (events: readonly CloudEvent[], key?: string) => {
    for (const r of outboxInserts(events, key))
      insert.run(r.key, r.eventId, r.source, r.type, r.json, r.createdAt);
  };
  return {
    add,
    async addWith(execute, events, key) {
      for (const r of outboxInserts(events, key))
        await execute(insertSql, [r.key, r.eventId, r.source, r.type, r.json, r.createdAt]);
    },
    store: {
      claim: async (owner, limit, leaseMs) => claim.immediate(owner, limit, leaseMs),
      markSent: async (seqs) => markSent(seqs),
      markFailed: async (seq, others, error, retryAt) => markFailed(seq, others, error, retryAt),
      pending: async () => pending.get()!.n,
    },
  };
}
