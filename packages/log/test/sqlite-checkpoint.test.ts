// WAL checkpoints of the SQLite log run in a background worker, not in the writer's commits: the
// writer's connection has wal_autocheckpoint=0, so while the log is open the database file can
// only grow through the worker's checkpoints (in WAL mode every page reaches it by a checkpoint).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openSqliteLog } from "@herald/log";
import Database from "better-sqlite3";
import { sleep, testEvent } from "./support/events.js";

const dir = mkdtempSync(join(tmpdir(), "herald-checkpoint-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;
const freshPath = (): string => join(dir, `checkpoint-${++count}.db`);
const sizeOf = (file: string): number => (existsSync(file) ? statSync(file).size : 0);
const batch = (n: number) => Array.from({ length: n }, () => testEvent({ data: { pad: "y".repeat(1000) } }));

describe("SQLite log WAL checkpoints", () => {
  it("are run by the background worker while the writer keeps appending", async () => {
    const path = freshPath();
    const log = openSqliteLog({ path, retentionIntervalMs: 0, checkpointFrames: 64 });
    try {
      await log.append(batch(1));
      const initial = sizeOf(path);
      // ~2 MB in 20 appends, with pauses longer than the worker's poll interval.
      for (let i = 0; i < 20; i++) {
        await log.append(batch(100));
        await sleep(60);
      }
      for (let waited = 0; waited < 5000 && sizeOf(path) < 1_000_000; waited += 50) await sleep(50);
      assert.ok(sizeOf(path) >= 1_000_000, `the database file grew from ${initial} to ${sizeOf(path)} bytes`);
      // A checkpointed WAL is reused from its start, so it stays far smaller than what was written.
      assert.ok(
        sizeOf(`${path}-wal`) < sizeOf(path),
        `WAL ${sizeOf(`${path}-wal`)} bytes, database ${sizeOf(path)}`,
      );
      assert.equal(await log.headPosition(), 2001);
    } finally {
      await log.close();
    }
  });

  it("leaves an empty WAL and every event in the database file after close", async () => {
    const path = freshPath();
    // The threshold is never reached: only close checkpoints.
    const log = openSqliteLog({ path, retentionIntervalMs: 0, checkpointFrames: 1_000_000 });
    await log.append(batch(500));
    assert.ok(sizeOf(`${path}-wal`) > 500_000, "the events are in the WAL");
    await log.close();
    assert.equal(sizeOf(`${path}-wal`), 0);
    const raw = new Database(path, { readonly: true });
    try {
      const row = raw.prepare<[], { n: number }>("SELECT count(*) AS n FROM events").get();
      assert.equal(row?.n, 500);
    } finally {
      raw.close();
    }
  });

  it("works without a file (':memory:', no worker)", async () => {
    const log = openSqliteLog({ path: ":memory:", retentionIntervalMs: 0 });
    await log.append(batch(3));
    assert.equal((await log.read()).events.length, 3);
    await log.close();
  });
});
