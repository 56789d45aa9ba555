// Schema migration 4 (the lineage index) on a schema that already holds events: the columns are
// filled from the stored JSON, so events appended before the upgrade are found by readLinked.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { openPostgresLog } from "@herald/log-postgres";
import pg from "pg";
import { connection, freshSchema, needsPostgres, postgresUp } from "./support/pg.js";

const options = { connection, retentionIntervalMs: 0, pollIntervalMs: 200 };

test(
  "migration 4 indexes the causationid/correlationid of events stored before it",
  postgresUp ? {} : needsPostgres,
  async () => {
    const schema = freshSchema();
    const log = await openPostgresLog({ ...options, schema });
    const event = (id: string, extra: Record<string, unknown> = {}) =>
      new CloudEvent({ id, source: "/m", type: "t", ...extra });
    try {
      await log.append([event("root"), event("child", { causationid: "root", correlationid: "root" })]);
    } finally {
      await log.close();
    }
    // Back to schema 3: drop what migration 4 added.
    const client = new pg.Client(connection);
    await client.connect();
    try {
      await client.query(`ALTER TABLE "${schema}".events DROP COLUMN causationid, DROP COLUMN correlationid`);
      await client.query(`DELETE FROM "${schema}".herald_migrations WHERE version = 4`);
    } finally {
      await client.end();
    }
    const again = await openPostgresLog({ ...options, schema });
    try {
      const ids = async (attribute: "id" | "causationid" | "correlationid", value: string) =>
        (await again.readLinked(attribute, value)).events.map((e) => e.event.id);
      assert.deepEqual(await ids("causationid", "root"), ["child"]);
      assert.deepEqual(await ids("correlationid", "root"), ["child"]);
      assert.deepEqual(await ids("id", "child"), ["child"]);
      assert.deepEqual(await ids("id", "root"), []);
    } finally {
      await again.close();
    }
  },
);
