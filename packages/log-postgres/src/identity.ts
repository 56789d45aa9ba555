// The log's identity on PostgreSQL (see `LogIdentity` in @herald/log). The fingerprint of a copy is
// the cluster's system identifier, the database's oid and the timeline: pg_dump/pg_restore into a
// database, CREATE DATABASE … TEMPLATE and a drop-and-restore give a new oid; a base backup restored
// elsewhere keeps the oid but a point-in-time recovery (or a promoted replica) starts a new timeline.
// Where the pg_control functions are not granted (they need pg_monitor or a superuser), the oid alone.
import { type LogIdentity, openIdentity, parseStoredIdentity, publicIdentity } from "@herald/log/backend";
import type pg from "pg";

async function fingerprintOf(pool: pg.Pool): Promise<string> {
  const oid = await pool.query<{ oid: string }>(
    "SELECT oid::text AS oid FROM pg_database WHERE datname = current_database()",
  );
  let control = "";
  try {
    const result = await pool.query<{ sys: string; timeline: number }>(
      "SELECT (SELECT system_identifier::text FROM pg_control_system()) AS sys, (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline",
    );
    control = `:${result.rows[0]!.sys}:${result.rows[0]!.timeline}`;
  } catch {
    // Not granted: the oid still tells a restored database from the original.
  }
  return `pg:${oid.rows[0]!.oid}${control}`;
}

/** Reads the identity, starting a new epoch (or log) under a lock when the fingerprint changed. */
export async function loadIdentity(pool: pg.Pool, schema: string): Promise<LogIdentity> {
  const fingerprint = await fingerprintOf(pool);
  const s = `"${schema}"`;
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext('herald_identity'), hashtext($1))", [schema]);
    const row = await client.query<{ json: string }>(`SELECT json FROM ${s}.log_identity`);
    const head = await client.query<{ head: string }>(`SELECT head FROM ${s}.log_head`);
    const stored = row.rows[0] === undefined ? undefined : parseStoredIdentity(row.rows[0].json);
    const { identity, changed } = openIdentity(stored, fingerprint, Number(head.rows[0]!.head));
    if (changed)
      await client.query(
        `INSERT INTO ${s}.log_identity (only_row, json) VALUES (true, $1)
         ON CONFLICT (only_row) DO UPDATE SET json = excluded.json`,
        [JSON.stringify(identity)],
      );
    await client.query("COMMIT");
    return publicIdentity(identity);
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
