// Projection checkpoints across a backup and restore of the log: the read model (in its own
// database) keeps a checkpoint the restored log no longer holds. The projector stores the log's
// identity with its checkpoint and, on start, refuses (StaleCheckpointError) or rebuilds; a
// checkpoint the restored copy still holds is kept and re-stamped; another log's is refused.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  eventLogSource,
  type ProjectionBackend,
  Projector,
  postgresProjection,
  StaleCheckpointError,
  type StaleCheckpointReport,
  sqliteProjection,
} from "@herald/eventsourcing";
import { createMemoryLog, type EventLog, openSqliteLog } from "@herald/log";
import { openPostgresLog } from "@herald/log-postgres";
import { dumpAndRestore, freshDatabase } from "@herald/log-postgres/testing";
import Database from "better-sqlite3";
import pg from "pg";
import { expectedSummary, type OrderRow, postgresSummary, sqliteSummary } from "./fixtures/order-summary.js";
import { allEvents, writeOrders } from "./fixtures/orders-log.js";
import { connection, freshSchema, needsPostgres } from "./support/pg.js";

const dir = mkdtempSync(join(tmpdir(), "herald-es-restore-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Setup {
  /** Opens the live log or its restored copy. */
  openLog(which: "live" | "restored"): Promise<EventLog>;
  /** Backs the live log up into the restored copy (the live log is closed). */
  backup(): Promise<void>;
  backend(): ProjectionBackend;
  rows(): Promise<OrderRow[]>;
  close(): Promise<void>;
}

async function project(
  setup: Setup,
  log: EventLog,
  options: Partial<ConstructorParameters<typeof Projector>[0]> = {},
): Promise<Projector> {
  const projector = new Projector({ backend: setup.backend(), source: eventLogSource(log), ...options });
  await projector.start();
  await projector.waitFor(await log.headPosition());
  return projector;
}

async function scenario(setup: Setup): Promise<void> {
  let live = await setup.openLog("live");
  await writeOrders(live, 3, 1);
  const backedUp = await live.headPosition();
  await (await project(setup, live)).stop();
  await live.close();
  await setup.backup();
  live = await setup.openLog("live");
  await writeOrders(live, 3, 1, "late-");
  const checkpoint = await live.headPosition();
  await (await project(setup, live)).stop();
  await live.close();

  // The log restored from the backup; the read model is newer (checkpoint past the backup's head).
  const restored = await setup.openLog("restored");
  assert.equal(await restored.headPosition(), backedUp);
  const refuse = new Projector({ backend: setup.backend(), source: eventLogSource(restored) });
  await assert.rejects(refuse.start(), (error: unknown) => {
    assert.ok(error instanceof StaleCheckpointError);
    assert.deepEqual(
      [error.reason, error.position, error.code],
      ["ahead", checkpoint, "projection-checkpoint-stale"],
    );
    return true;
  });
  // New events take the positions the live log had given out; once the head passes the checkpoint
  // again the epoch still tells the checkpoint is stale.
  await writeOrders(restored, 4, 2, "new-");
  assert.ok((await restored.headPosition()) > checkpoint);
  await assert.rejects(
    new Projector({ backend: setup.backend(), source: eventLogSource(restored) }).start(),
    StaleCheckpointError,
  );
  const reports: StaleCheckpointReport[] = [];
  const rebuilt = await project(setup, restored, {
    onStaleCheckpoint: "rebuild",
    staleCheckpoint: (r) => reports.push(r),
  });
  assert.deepEqual(reports, [
    { projection: "order_summary", position: checkpoint, reason: "ahead", action: "rebuilt" },
  ]);
  assert.deepEqual(await setup.rows(), expectedSummary(await allEvents(restored)));
  await rebuilt.stop();
  // Re-stamped with the restored copy: a plain start resumes.
  await writeOrders(restored, 1, 1, "after-");
  await (await project(setup, restored)).stop();
  assert.deepEqual(await setup.rows(), expectedSummary(await allEvents(restored)));
  await restored.close();

  // Another log altogether: refused as foreign.
  const other = createMemoryLog();
  await writeOrders(other, 1, 1);
  await assert.rejects(
    new Projector({ backend: setup.backend(), source: eventLogSource(other) }).start(),
    (error: unknown) => error instanceof StaleCheckpointError && error.reason === "foreign",
  );
  await other.close();
  await setup.close();
}

test("projection checkpoints across a SQLite log's backup (file copy) and restore", async () => {
  const db = new Database(join(dir, "read-model.db"));
  await scenario({
    openLog: async (which) => openSqliteLog({ path: join(dir, `${which}.db`) }),
    backup: async () => copyFileSync(join(dir, "live.db"), join(dir, "restored.db")),
    backend: () => sqliteProjection(db, sqliteSummary),
    rows: async () => db.prepare("SELECT * FROM order_summary ORDER BY order_id").all() as OrderRow[],
    close: async () => {
      db.close();
    },
  });
});

test("projection checkpoints across a PostgreSQL log's pg_dump and pg_restore", {
  ...needsPostgres,
  timeout: 60_000,
}, async () => {
  const live = await freshDatabase("herald_es_live");
  let restoredUrl = "";
  const pool = new pg.Pool({ ...connection, max: 4 });
  const schema = freshSchema();
  await scenario({
    openLog: (which) =>
      openPostgresLog({
        connection: { connectionString: which === "live" ? live.url : restoredUrl },
        retentionIntervalMs: 0,
      }),
    backup: async () => {
      restoredUrl = (await dumpAndRestore(live.name)).url;
    },
    backend: () => postgresProjection(pool, postgresSummary, { schema }),
    rows: async () =>
      (await pool.query<OrderRow>(`SELECT * FROM "${schema}".order_summary ORDER BY order_id`)).rows,
    close: () => pool.end(),
  });
});
