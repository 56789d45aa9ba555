// The outbox in the service's SQLite database (better-sqlite3). `add` runs inside the caller's
// transaction; claims run in an IMMEDIATE transaction, so relays on several connections or
// processes take turns and never lease the same row.
import { decodeJsonEvent } from "@herald/cloudevents";
import type { Database } from "better-sqlite3";
import { checkProjectionName } from "../projection/tables.js";
import { type OutboxRow, type OutboxStore, outboxInserts, type ParkedOutboxRow } from "./outbox.js";
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
  // Parked rows (refused for good): added to tables made before it existed.
  const columns = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table}')`).all();
  if (!columns.some((c) => c.name === "parked_at"))
    db.exec(`ALTER TABLE "${table}" ADD COLUMN parked_at INTEGER`);
  db.exec(`CREATE INDEX IF NOT EXISTS "${table}_sent" ON "${table}" (sent_at) WHERE sent_at IS NOT NULL`);
  const insertSql = `INSERT INTO "${table}" (key, event_id, source, type, event, created_at) VALUES (?, ?, ?, ?, ?, ?)`;
  const insert = db.prepare(insertSql);
  const select = db.prepare<
    { now: number; limit: number; blocks: number },
    Row
  >(`SELECT seq, key, attempts, event FROM "${table}" o
    WHERE sent_at IS NULL AND parked_at IS NULL AND (lease_until IS NULL OR lease_until <= :now)
      AND NOT EXISTS (SELECT 1 FROM "${table}" e
        WHERE e.key = o.key AND e.seq < o.seq AND e.sent_at IS NULL
          AND (e.lease_until > :now OR (:blocks = 1 AND e.parked_at IS NOT NULL)))
    ORDER BY seq LIMIT :limit`);
  const park = db.prepare(
    `UPDATE "${table}" SET attempts = attempts + 1, last_error = ?, parked_at = ?, lease_owner = NULL, lease_until = NULL WHERE seq = ?`,
  );
  const parkedRows = db.prepare<[number], Row & { last_error: string; parked_at: number }>(
    `SELECT seq, key, attempts, event, last_error, parked_at FROM "${table}" WHERE parked_at IS NOT NULL AND sent_at IS NULL ORDER BY seq LIMIT ?`,
  );
  const purgeBefore = db.prepare(`DELETE FROM "${table}" WHERE sent_at IS NOT NULL AND sent_at < ?`);
  const purgeBeyond = db.prepare(
    `DELETE FROM "${table}" WHERE sent_at IS NOT NULL AND seq < (SELECT seq FROM "${table}" WHERE sent_at IS NOT NULL ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
  );
  const lease = db.prepare(`UPDATE "${table}" SET lease_owner = ?, lease_until = ? WHERE seq = ?`);
  const sent = db.prepare(
    `UPDATE "${table}" SET sent_at = ?, lease_owner = NULL, lease_until = NULL WHERE seq = ?`,
  );
  const failed = db.prepare(
    `UPDATE "${table}" SET attempts = attempts + 1, last_error = ?, lease_owner = NULL, lease_until = ? WHERE seq = ?`,
  );
  const release = db.prepare(`UPDATE "${table}" SET lease_owner = NULL, lease_until = NULL WHERE seq = ?`);
  const pending = db.prepare<{ blocks: number }, { n: number }>(
    `SELECT count(*) AS n FROM "${table}" o WHERE sent_at IS NULL AND parked_at IS NULL
       AND NOT (:blocks = 1 AND EXISTS (SELECT 1 FROM "${table}" e
         WHERE e.key = o.key AND e.seq < o.seq AND e.sent_at IS NULL AND e.parked_at IS NOT NULL))`,
  );

  const claim = db.transaction(
    (owner: string, limit: number, leaseMs: number, blocks: boolean): OutboxRow[] => {
      const now = Date.now();
      const rows = select.all({ now, limit, blocks: blocks ? 1 : 0 });
      for (const row of rows) lease.run(owner, now + leaseMs, row.seq);
      return rows.map((r) => ({
        seq: r.seq,
        key: r.key,
        attempts: r.attempts,
        event: decodeJsonEvent(r.event),
      }));
    },
  );
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
  const markParked = db.transaction((seq: number, others: readonly number[], error: string) => {
    park.run(error, Date.now(), seq);
    for (const other of others) release.run(other);
  });
  // A keep of 0 deletes every sent row (the subquery finds none: nothing to keep).
  const purge = db.transaction((sentBefore: number | undefined, keep: number | undefined) => {
    let n = 0;
    if (sentBefore !== undefined) n += purgeBefore.run(sentBefore).changes;
    if (keep !== undefined)
      n +=
        keep === 0
          ? db.prepare(`DELETE FROM "${table}" WHERE sent_at IS NOT NULL`).run().changes
          : purgeBeyond.run(keep - 1).changes;
    return n;
  });
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
      claim: async (owner, limit, leaseMs, options) =>
        claim.immediate(owner, limit, leaseMs, options?.parkedBlocks === true),
      markSent: async (seqs) => markSent(seqs),
      markFailed: async (seq, others, error, retryAt) => markFailed(seq, others, error, retryAt),
      markParked: async (seq, others, error) => markParked(seq, others, error),
      parked: async (limit = 100) =>
        parkedRows.all(limit).map(
          (r): ParkedOutboxRow => ({
            seq: r.seq,
            key: r.key,
            attempts: r.attempts,
            event: decodeJsonEvent(r.event),
            error: r.last_error,
            parkedAt: r.parked_at,
          }),
        ),
      purgeSent: async (options) => purge(options.sentBefore, options.keep),
      pending: async (options) => pending.get({ blocks: options?.parkedBlocks === true ? 1 : 0 })!.n,
    },
  };
}
