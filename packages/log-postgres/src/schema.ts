// Versioned migrations of the PostgreSQL log's schema. They run under a transaction-scoped advisory
// lock, so several processes opening the same schema at once apply each migration exactly once.
import type pg from "pg";

/** A schema name is used inside SQL text, so it is restricted to a plain identifier. */
export function checkSchemaName(schema: string): void {
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(schema))
    throw new TypeError(`schema must match /^[a-z_][a-z0-9_]{0,40}$/, got ${JSON.stringify(schema)}`);
}

const MIGRATIONS: readonly ((s: string) => string)[] = [
  (s) => `
    CREATE TABLE ${s}.log_head (
      only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
      head bigint NOT NULL,
      last_recorded_at bigint NOT NULL
    );
    INSERT INTO ${s}.log_head (head, last_recorded_at) VALUES (0, 0);
    CREATE TABLE ${s}.events (
      position bigint PRIMARY KEY,
      source text NOT NULL,
      id text NOT NULL,
      stream text COLLATE "C" NOT NULL,
      version bigint NOT NULL,
      type text NOT NULL,
      recorded_at bigint NOT NULL,
      json text NOT NULL
    );
    CREATE UNIQUE INDEX events_source_id ON ${s}.events (source, id);
    CREATE INDEX events_stream_version ON ${s}.events (stream, version);
    CREATE INDEX events_recorded_at ON ${s}.events (recorded_at);
    CREATE TABLE ${s}.streams (
      name text COLLATE "C" PRIMARY KEY,
      version bigint NOT NULL,
      deleted boolean NOT NULL
    );
    CREATE TABLE ${s}.checkpoints (grp text COLLATE "C" PRIMARY KEY, position bigint NOT NULL);
    CREATE TABLE ${s}.metadata (key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
  `,
  // Scheduled delivery (schedule.ts): events held back until deliver_at; the release transaction
  // deletes the due rows and inserts them into events under the log_head lock.
  (s) => `
    CREATE TABLE ${s}.scheduled (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      source text NOT NULL,
      id text NOT NULL,
      stream text COLLATE "C" NOT NULL,
      deliver_at bigint NOT NULL,
      json text NOT NULL
    );
    CREATE UNIQUE INDEX scheduled_source_id ON ${s}.scheduled (source, id);
    CREATE INDEX scheduled_due ON ${s}.scheduled (deliver_at, seq);
  `,
  // The log's identity (identity.ts): one row.
  (s) => `
    CREATE TABLE ${s}.log_identity (
      only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
      json text NOT NULL
    );
  `,
  // The lineage index: partial, so events without causationid/correlationid write no index entry.
  (s) => `
    ALTER TABLE ${s}.events ADD COLUMN causationid text, ADD COLUMN correlationid text;
    UPDATE ${s}.events SET
      causationid = CASE WHEN jsonb_typeof(json::jsonb -> 'causationid') = 'string'
                         THEN nullif(json::jsonb ->> 'causationid', '') END,
      correlationid = CASE WHEN jsonb_typeof(json::jsonb -> 'correlationid') = 'string'
                           THEN nullif(json::jsonb ->> 'correlationid', '') END
      WHERE json LIKE '%causationid%' OR json LIKE '%correlationid%';
    CREATE INDEX events_causationid ON ${s}.events (causationid, position) WHERE causationid IS NOT NULL;
    CREATE INDEX events_correlationid ON ${s}.events (correlationid, position) WHERE correlationid IS NOT NULL;
    CREATE INDEX events_linked_id ON ${s}.events (id, position)
      WHERE causationid IS NOT NULL OR correlationid IS NOT NULL;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Creates the schema if needed and applies the migrations it lacks; safe to run concurrently. */
export async function migrate(client: pg.ClientBase, schema: string): Promise<void> {
  const s = `"${schema}"`;
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('herald_log'), hashtext($1))", [schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.herald_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = await client.query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${s}.herald_migrations`,
    );
    const current = done.rows[0]?.v ?? 0;
    if (current > MIGRATIONS.length)
      throw new Error(
        `schema ${schema} is at version ${current}, newer than this build (${MIGRATIONS.length})`,
      );
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      await client.query(MIGRATIONS[version - 1]!(s));
      await client.query(`INSERT INTO ${s}.herald_migrations (version) VALUES ($1)`, [version]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}
