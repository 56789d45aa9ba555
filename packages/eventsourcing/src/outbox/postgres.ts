// The outbox in the service's PostgreSQL database (pg). `add` runs on the caller's client inside its
// transaction. Claims take a transaction-scoped advisory lock first, so concurrent relays lease in
// turn (the "earlier row of this key leased?" check then sees every committed lease), and lock the
// chosen rows FOR UPDATE SKIP LOCKED against a concurrent mark.
import { type CloudEvent, decodeJsonEvent } from "@herald/cloudevents";
import type pg from "pg";
import { checkProjectionName } from "../projection/tables.js";
import { type OutboxRow, outboxInserts, type ParkedOutboxRow } from "./outbox.js";
import type { SqlOutbox } from "./sqlite.js";

async function inTransaction<T>(pool: pg.Pool, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await body(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

export interface PostgresOutboxOptions {
  readonly schema?: string;
  readonly table?: string;
}

export type PostgresOutbox = SqlOutbox<
  (client: pg.ClientBase, events: readonly CloudEvent[], key?: string) => Promise<void>
> & {
  /** Creates the table (and schema) if needed; call once before use. */
  migrate(): Promise<void>;
};

export function postgresOutbox(pool: pg.Pool, options: PostgresOutboxOptions = {}): PostgresOutbox {
  const name = options.table ?? "herald_outbox";
  checkProjectionName(name);
  if (options.schema !== undefined) checkProjectionName(options.schema);
  const table = options.schema === undefined ? `"${name}"` : `"${options.schema}"."${name}"`;
  const insertSql = `INSERT INTO ${table} (key, event_id, source, type, event, created_at) VALUES ($1, $2, $3, $4, $5, $6)`;
  const addWith = async (
    execute: (sql: string, params: readonly unknown[]) => unknown,
    events: readonly CloudEvent[],
    key?: string,
  ) => {
    for (const r of outboxInserts(events, key))
      await execute(insertSql, [r.key, r.eventId, r.source, r.type, r.json, r.createdAt]);
  };
  return {
    async migrate() {
      await inTransaction(pool, async (client) => {
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`herald-outbox-migrate:${table}`]);
        if (options.schema !== undefined)
          await client.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema}"`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${table} (
          seq bigserial PRIMARY KEY, key text NOT NULL, event_id text NOT NULL, source text NOT NULL,
          type text NOT NULL, event text NOT NULL, created_at bigint NOT NULL, sent_at bigint,
          attempts integer NOT NULL DEFAULT 0, lease_owner text, lease_until bigint, last_error text)`);
        await client.query(
          `CREATE INDEX IF NOT EXISTS "${name}_pending" ON ${table} (key, seq) WHERE sent_at IS NULL`,
        );
        // Parked rows (refused for good), and the purge of sent rows: added to older tables too.
        await client.query(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS parked_at bigint`);
        await client.query(
          `CREATE INDEX IF NOT EXISTS "${name}_sent" ON ${table} (sent_at) WHERE sent_at IS NOT NULL`,
        );
      });
    },
    add: (client, events, key) =>
      addWith((sql, params) => client.query(sql, params as unknown[]), events, key),
    addWith,
    store: {
      claim: (owner, limit, leaseMs, options) =>
        inTransaction(pool, async (client) => {
          await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`herald-outbox-claim:${table}`]);
          const now = Date.now();
          const rows = await client.query<{ seq: string; key: string; attempts: number; event: string }>(
            `SELECT seq, key, attempts, event FROM ${table} o
             WHERE sent_at IS NULL AND parked_at IS NULL AND (lease_until IS NULL OR lease_until <= $1)
               AND NOT EXISTS (SELECT 1 FROM ${table} e
                 WHERE e.key = o.key AND e.seq < o.seq AND e.sent_at IS NULL
                   AND (e.lease_until > $1 OR ($3 AND e.parked_at IS NOT NULL)))
             ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED`,
            [now, limit, options?.parkedBlocks === true],
          );
          const seqs = rows.rows.map((r) => r.seq);
          if (seqs.length > 0)
            await client.query(
              `UPDATE ${table} SET lease_owner = $1, lease_until = $2 WHERE seq = ANY($3::bigint[])`,
              [owner, now + leaseMs, seqs],
            );
          return rows.rows.map(
            (r): OutboxRow => ({
              seq: Number(r.seq),
              key: r.key,
              attempts: r.attempts,
              event: decodeJsonEvent(r.event),
            }),
          );
        }),
      async markSent(seqs) {
        if (seqs.length === 0) return;
        await pool.query(
          `UPDATE ${table} SET sent_at = $1, lease_owner = NULL, lease_until = NULL WHERE seq = ANY($2::bigint[])`,
          [Date.now(), seqs],
        );
      },
      markFailed: (seq, others, error, retryAt) =>
        inTransaction(pool, async (client) => {
          await client.query(
            `UPDATE ${table} SET attempts = attempts + 1, last_error = $1, lease_owner = NULL, lease_until = $2 WHERE seq = $3`,
            [error, retryAt, seq],
          );
          if (others.length > 0)
            await client.query(
              `UPDATE ${table} SET lease_owner = NULL, lease_until = NULL WHERE seq = ANY($1::bigint[])`,
              [others],
            );
        }),
      markParked: (seq, others, error) =>
        inTransaction(pool, async (client) => {
          await client.query(
            `UPDATE ${table} SET attempts = attempts + 1, last_error = $1, parked_at = $2, lease_owner = NULL, lease_until = NULL WHERE seq = $3`,
            [error, Date.now(), seq],
          );
          if (others.length > 0)
            await client.query(
              `UPDATE ${table} SET lease_owner = NULL, lease_until = NULL WHERE seq = ANY($1::bigint[])`,
              [others],
            );
        }),
      async parked(limit = 100) {
        const r = await pool.query<{
          seq: string;
          key: string;
          attempts: number;
          event: string;
          last_error: string;
          parked_at: string;
        }>(
          `SELECT seq, key, attempts, event, last_error, parked_at FROM ${table}
           WHERE parked_at IS NOT NULL AND sent_at IS NULL ORDER BY seq LIMIT $1`,
          [limit],
        );
        return r.rows.map(
          (row): ParkedOutboxRow => ({
            seq: Number(row.seq),
            key: row.key,
            attempts: row.attempts,
            event: decodeJsonEvent(row.event),
            error: row.last_error,
            parkedAt: Number(row.parked_at),
          }),
        );
      },
      async purgeSent(options) {
        let n = 0;
        if (options.sentBefore !== undefined)
          n +=
            (
              await pool.query(`DELETE FROM ${table} WHERE sent_at IS NOT NULL AND sent_at < $1`, [
                options.sentBefore,
              ])
            ).rowCount ?? 0;
        if (options.keep !== undefined)
          n +=
            (
              await pool.query(
                `DELETE FROM ${table} WHERE sent_at IS NOT NULL AND seq NOT IN
                   (SELECT seq FROM ${table} WHERE sent_at IS NOT NULL ORDER BY seq DESC LIMIT $1)`,
                [options.keep],
              )
            ).rowCount ?? 0;
        return n;
      },
      async pending(options) {
        const r = await pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${table} o WHERE sent_at IS NULL AND parked_at IS NULL
             AND NOT ($1 AND EXISTS (SELECT 1 FROM ${table} e
               WHERE e.key = o.key AND e.seq < o.seq AND e.sent_at IS NULL AND e.parked_at IS NOT NULL))`,
          [options?.parkedBlocks === true],
        );
        return Number(r.rows[0]!.n);
      },
    },
  };
}
