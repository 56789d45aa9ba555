// Read models in PostgreSQL (pg): the projection's writes and the checkpoint in one transaction; the
// checkpoint row is locked first, so two projectors of one projection never apply an event twice.
import { inboxKey } from "@herald/sdk";
import type pg from "pg";
import { postgresInboxIn } from "../inbox.js";
import { type CatalogCodec, catalogCodec, type DomainEventOf, type EventCatalog } from "../catalog.js";
import type { ProjectionBackend } from "./projector.js";
import type { ProjectionEvent } from "./source.js";
import { decode, inboxScope } from "./sqlite.js";
import {
  ACTIVE_TABLE,
  CHECKPOINTS_TABLE,
  checkProjectionName,
  generationTable,
  LOG_TABLE,
} from "./tables.js";

export interface PostgresProjection<C extends EventCatalog> {
  /** Also the name of the view to query. */
  readonly name: string;
  readonly events: C;
  /** Creates the read model's table `table` (already quoted, schema-qualified when a schema is set). */
  createTable(client: pg.ClientBase, table: string): Promise<void>;
  /** Applies one event with `client` (inside the batch's transaction). */
  apply(client: pg.ClientBase, table: string, event: DomainEventOf<C>, meta: ProjectionEvent): Promise<void>;
}

export interface PostgresProjectionOptions {
  /** Schema of the view, the tables and the bookkeeping (default: the connection's search_path). */
  readonly schema?: string;
  /**
   * The SDK's inbox (table herald_inbox of the same schema) in the batch's transaction: an event
   * whose source+id this generation already applied is skipped, exactly once (see SqliteProjectionOptions).
   */
  readonly inbox?: boolean | { readonly ttlMs?: number };
}

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

/** The projection's backend on `pool` (the caller owns the pool). */
export function postgresProjection<C extends EventCatalog>(
  pool: pg.Pool,
  projection: PostgresProjection<C>,
  options: PostgresProjectionOptions = {},
): ProjectionBackend {
  checkProjectionName(projection.name);
  if (options.schema !== undefined) checkProjectionName(options.schema);
  const name = projection.name;
  const q = options.schema === undefined ? "" : `"${options.schema}".`;
  const checkpoints = q + CHECKPOINTS_TABLE;
  const active = q + ACTIVE_TABLE;
  const logs = q + LOG_TABLE;
  const table = (generation: number) => q + generationTable(name, generation);
  const view = `${q}"${name}"`;
  const codec: CatalogCodec<DomainEventOf<C>> = catalogCodec(projection.events);
  const inbox =
    options.inbox === undefined || options.inbox === false
      ? undefined
      : postgresInboxIn({
          ...(options.schema !== undefined ? { schema: options.schema } : {}),
          ...(options.inbox === true ? {} : options.inbox),
        });

  const prepare = async (client: pg.ClientBase, generation: number) => {
    await client.query(`DROP TABLE IF EXISTS ${table(generation)}`);
    await projection.createTable(client, table(generation));
    await inbox?.forget(client, inboxScope(name, generation));
    await client.query(
      `INSERT INTO ${checkpoints} (name, generation, position, updated_at) VALUES ($1, $2, 0, now())
       ON CONFLICT (name, generation) DO UPDATE SET position = 0, updated_at = now()`,
      [name, generation],
    );
  };
  const showView = async (client: pg.ClientBase, generation: number) => {
    await client.query(`DROP VIEW IF EXISTS ${view}`);
    await client.query(`CREATE VIEW ${view} AS SELECT * FROM ${table(generation)}`);
  };

  return {
    name,
    async open() {
      return inTransaction(pool, async (client) => {
        if (options.schema !== undefined)
          await client.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema}"`);
        // Serialises concurrent first opens (CREATE TABLE IF NOT EXISTS races otherwise).
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`herald-projection:${q}${name}`]);
        await client.query(`CREATE TABLE IF NOT EXISTS ${checkpoints} (
          name text NOT NULL, generation integer NOT NULL, position bigint NOT NULL,
          updated_at timestamptz NOT NULL, PRIMARY KEY (name, generation))`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${active} (name text PRIMARY KEY, generation integer NOT NULL)`,
        );
        await inbox?.migrate(client);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${logs} (name text PRIMARY KEY, log_id text NOT NULL, log_epoch text NOT NULL)`,
        );
        const stamp = await client.query<{ log_id: string; log_epoch: string }>(
          `SELECT log_id, log_epoch FROM ${logs} WHERE name = $1`,
          [name],
        );
        const s = stamp.rows[0];
        const log = s === undefined ? {} : { log: { id: s.log_id, epoch: s.log_epoch } };
        const row = await client.query<{ generation: number }>(
          `SELECT generation FROM ${active} WHERE name = $1`,
          [name],
        );
        const generation = row.rows[0]?.generation;
        if (generation !== undefined) {
          const cp = await client.query<{ position: string }>(
            `SELECT position FROM ${checkpoints} WHERE name = $1 AND generation = $2`,
            [name, generation],
          );
          return { generation, position: Number(cp.rows[0]?.position ?? 0), ...log };
        }
        await prepare(client, 1);
        await client.query(`INSERT INTO ${active} (name, generation) VALUES ($1, 1)`, [name]);
        await showView(client, 1);
        return { generation: 1, position: 0 };
      });
    },
    async applyBatch(generation, events) {
      await inTransaction(pool, async (client) => {
        const cp = await client.query<{ position: string }>(
          `SELECT position FROM ${checkpoints} WHERE name = $1 AND generation = $2 FOR UPDATE`,
          [name, generation],
        );
        const checkpoint = Number(cp.rows[0]?.position ?? 0);
        let position = checkpoint;
        for (const e of events) {
          if (e.position <= checkpoint) continue;
          position = e.position;
          const key = inboxScope(name, generation) + inboxKey(e.event);
          if (inbox !== undefined && !(await inbox.firstTime(client, key))) continue;
          if (codec.knows(e.event)) await projection.apply(client, table(generation), decode(codec, e), e);
        }
        if (position > checkpoint) {
          await client.query(
            `UPDATE ${checkpoints} SET position = $3, updated_at = now() WHERE name = $1 AND generation = $2`,
            [name, generation, position],
          );
        }
      });
    },
    prepare: (generation) => inTransaction(pool, (client) => prepare(client, generation)),
    async stampLog(stamp) {
      await pool.query(
        `INSERT INTO ${logs} (name, log_id, log_epoch) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET log_id = excluded.log_id, log_epoch = excluded.log_epoch`,
        [name, stamp.id, stamp.epoch],
      );
    },
    swap: (from, to) =>
      inTransaction(pool, async (client) => {
        await showView(client, to);
        await client.query(`UPDATE ${active} SET generation = $2 WHERE name = $1`, [name, to]);
        await client.query(`DROP TABLE IF EXISTS ${table(from)}`);
        await client.query(`DELETE FROM ${checkpoints} WHERE name = $1 AND generation = $2`, [name, from]);
        await inbox?.forget(client, inboxScope(name, from));
      }),
  };
}
