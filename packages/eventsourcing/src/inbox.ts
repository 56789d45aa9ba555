// The SDK's inbox (source+id of handled events, table herald_inbox) inside a PostgreSQL transaction
// of your own: the record commits or rolls back with the handler's or projection's change, so a
// redelivered event is skipped exactly once. SQLite: `sqliteInboxIn` in @herald/sdk.
import type pg from "pg";
import { checkProjectionName } from "./projection/tables.js";

export interface PostgresInboxIn {
  /** Creates the table (and schema) if needed. */
  migrate(client: pg.ClientBase): Promise<void>;
  /**
   * Inside your transaction on `client`: records `key` as handled and resolves true the first time
   * (or once the record expired); false when it was handled: skip the event.
   */
  firstTime(client: pg.ClientBase, key: string): Promise<boolean>;
  /** Forgets the keys that start with `prefix`. */
  forget(client: pg.ClientBase, prefix: string): Promise<number>;
  /** Deletes expired records. */
  sweep(client: pg.ClientBase): Promise<number>;
}

export interface PostgresInboxOptions {
  /** Schema of `herald_inbox` (default: the connection's search_path). */
  readonly schema?: string;
  /** How long a handled event is remembered (default 7 days). */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

/** PostgreSQL text holds no NUL (inboxKey's separator): an escape that keeps keys distinct. */
const escapeKey = (key: string) => key.replaceAll("\\", "\\\\").replaceAll("\u0000", "\\0");

export function postgresInboxIn(options: PostgresInboxOptions = {}): PostgresInboxIn {
  if (options.schema !== undefined) checkProjectionName(options.schema);
  const table = options.schema === undefined ? "herald_inbox" : `"${options.schema}".herald_inbox`;
  const ttlMs = options.ttlMs ?? 7 * 24 * 3_600_000;
  const now = options.now ?? Date.now;
  return {
    async migrate(client) {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${table} (key text COLLATE "C" PRIMARY KEY, state text NOT NULL, expires_at bigint NOT NULL)`,
      );
    },
    async firstTime(client, key) {
      const at = now();
      // A row that is done and alive stops the upsert: no row changed means "handled already".
      const result = await client.query(
        `INSERT INTO ${table} AS i (key, state, expires_at) VALUES ($1, 'done', $2)
         ON CONFLICT (key) DO UPDATE SET state = 'done', expires_at = excluded.expires_at
         WHERE i.state <> 'done' OR i.expires_at <= $3`,
        [escapeKey(key), at + ttlMs, at],
      );
      return result.rowCount === 1;
    },
    async forget(client, prefix) {
      const result = await client.query(`DELETE FROM ${table} WHERE starts_with(key, $1)`, [
        escapeKey(prefix),
      ]);
      return result.rowCount ?? 0;
    },
    async sweep(client) {
      const result = await client.query(`DELETE FROM ${table} WHERE expires_at <= $1`, [now()]);
      return result.rowCount ?? 0;
    },
  };
}
