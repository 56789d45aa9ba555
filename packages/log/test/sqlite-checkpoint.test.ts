// Where the SQLite log's WAL checkpoints run. Default ("inline"): SQLite's automatic checkpoint in
// the writer's commits, the file locked exclusively, no worker and no "<path>-owner" file.
// checkpoint: "background": a worker checkpoints, the writer's connection has wal_autocheckpoint=0,
// so while the log is open the database file can only grow through the worker's checkpoints (in WAL
// mode every page reaches it by a checkpoint).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { after, describe, it } from "node:test";
import type { Worker } from "node:worker_threads";
import { type EventLog, LogLockedError, openSqliteLog } from "@herald/log";
import Database from "better-sqlite3";
import { sleep, testEvent } from "./support/events.js";

const dir = mkdtempSync(join(tmpdir(), "herald-checkpoint-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;
const freshPath = (): string => join(dir, `checkpoint-${++count}.db`);
const sizeOf = (file: string): number => (existsSync(file) ? statSync(file).size : 0);
const batch = (n: number) => Array.from({ length: n }, () => testEvent({ data: { pad: "y".repeat(1000) } }));

/** Counts worker threads started from now on (the process "worker" event, emitted once the thread runs). */
function watchWorkers(): { readonly started: () => number; readonly stop: () => void } {
  let started = 0;
  const onWorker = (_worker: Worker): void => {
    started += 1;
  };
  process.on("worker", onWorker);
  return { started: () => started, stop: () => process.off("worker", onWorker) };
}

/** Waits up to `ms` for at least `n` workers, then returns how many were started. */
async function workersAfter(
  workers: ReturnType<typeof watchWorkers>,
  n: number,
  ms: number,
): Promise<number> {
  for (let waited = 0; waited < ms && workers.started() < n; waited += 20) await sleep(20);
  return workers.started();
}

/** Appends ~2 MB in 20 appends, pausing longer than the worker's poll interval in between. */
async function appendTwoMegabytes(log: EventLog): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await log.append(batch(100));
    await sleep(60);
  }
}

describe("SQLite log WAL checkpoints, inline (default)", () => {
  it("start no worker and create no <path>-owner file; the file stays locked exclusively", async () => {
    const path = freshPath();
    const workers = watchWorkers();
    const log = openSqliteLog({ path, retentionIntervalMs: 0 });
    try {
      await log.append(batch(3));
      // A background worker shows up within a few ms of the open; this waits 300 ms for one.
      assert.equal(await workersAfter(workers, 1, 300), 0);
      assert.equal(existsSync(`${path}-owner`), false);
      // locking_mode=EXCLUSIVE: no other connection can even read the file.
      const other = new Database(path, { timeout: 0 });
      try {
        assert.throws(() => other.prepare("SELECT count(*) FROM events").get(), /locked|busy/i);
      } finally {
        other.close();
      }
    } finally {
      workers.stop();
      await log.close();
    }
    assert.equal(existsSync(`${path}-owner`), false);
  });

  it("checkpoint in the writer's commits once checkpointFrames is crossed", async () => {
    const path = freshPath();
    const log = openSqliteLog({ path, retentionIntervalMs: 0, checkpoint: "inline", checkpointFrames: 64 });
    try {
      await log.append(batch(1));
      await appendTwoMegabytes(log);
      // No worker: the pages can only have reached the database file through the commits.
      assert.ok(sizeOf(path) >= 1_000_000, `the database file has ${sizeOf(path)} bytes`);
      assert.equal(await log.headPosition(), 2001);
    } finally {
      await log.close();
    }
  });
});

describe('SQLite log WAL checkpoints, checkpoint: "background"', () => {
  it("start one worker and take the <path>-owner lock", async () => {
    const path = freshPath();
    const workers = watchWorkers();
    const log = openSqliteLog({ path, retentionIntervalMs: 0, checkpoint: "background" });
    try {
      assert.equal(await workersAfter(workers, 2, 300), 1);
      assert.equal(existsSync(`${path}-owner`), true);
    } finally {
      workers.stop();
      await log.close();
    }
  });

  it("start in a process run from an inline script (flags the worker must not inherit)", () => {
    // `node --input-type=module -e …` passes flags a worker cannot start with; it must not fall back.
    const script = `
      import { openSqliteLog } from "@herald/log";
      const warnings = [];
      process.on("warning", (w) => warnings.push(w.code));
      const log = openSqliteLog({ path: ${JSON.stringify(freshPath())}, retentionIntervalMs: 0, checkpoint: "background" });
      await new Promise((r) => setTimeout(r, 300));
      await log.close();
      console.log(JSON.stringify(warnings));`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL("../..", import.meta.url),
      encoding: "utf8",
    });
    assert.deepEqual(JSON.parse(out.trim()), [], "no checkpointer fallback warning");
  });

  it("are run by the background worker while the writer keeps appending", async () => {
    const path = freshPath();
    const log = openSqliteLog({
      path,
      retentionIntervalMs: 0,
      checkpoint: "background",
      checkpointFrames: 64,
    });
    try {
      await log.append(batch(1));
      const initial = sizeOf(path);
      await appendTwoMegabytes(log);
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
    const log = openSqliteLog({
      path,
      retentionIntervalMs: 0,
      checkpoint: "background",
      checkpointFrames: 1_000_000,
    });
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

  it("refuses a second open of the same file with LogLockedError, in either mode", async () => {
    const path = freshPath();
    const first = openSqliteLog({ path, retentionIntervalMs: 0, checkpoint: "background" });
    try {
      await first.append(batch(1));
      assert.throws(
        () => openSqliteLog({ path, retentionIntervalMs: 0, checkpoint: "background" }),
        LogLockedError,
      );
      assert.throws(() => openSqliteLog({ path, retentionIntervalMs: 0 }), LogLockedError);
    } finally {
      await first.close();
    }
  });

  it("works without a file (':memory:', no worker, no owner file)", async () => {
    const workers = watchWorkers();
    const log = openSqliteLog({ path: ":memory:", retentionIntervalMs: 0, checkpoint: "background" });
    try {
      await log.append(batch(3));
      assert.equal((await log.read()).events.length, 3);
      assert.equal(await workersAfter(workers, 1, 300), 0);
    } finally {
      workers.stop();
      await log.close();
    }
  });
});
