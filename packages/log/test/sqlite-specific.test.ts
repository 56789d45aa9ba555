// Behaviour of the SQLite backend beyond the shared contract: file ownership, background
// retention, retention that does not stall appends.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { LogInputError, LogLockedError, openSqliteLog } from "@herald/log";
import { sleep, testEvent } from "./support/events.js";

const dir = mkdtempSync(join(tmpdir(), "herald-sqlite-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;
const freshPath = (): string => join(dir, `specific-${++count}.db`);

describe("SQLite log", () => {
  it("refuses a second open of the same file with LogLockedError", async () => {
    const path = freshPath();
    const first = openSqliteLog({ path, retentionIntervalMs: 0 });
    await first.append([testEvent()]);
    assert.throws(() => openSqliteLog({ path, retentionIntervalMs: 0 }), LogLockedError);
    await first.close();
    const second = openSqliteLog({ path, retentionIntervalMs: 0 });
    assert.equal(await second.headPosition(), 1);
    await second.close();
  });

  it("rejects bad options with LogInputError", () => {
    assert.throws(
      () => openSqliteLog({ path: freshPath(), durability: "fast" as "full", retentionIntervalMs: 0 }),
      LogInputError,
    );
    assert.throws(() => openSqliteLog({ path: "", retentionIntervalMs: 0 }), LogInputError);
    assert.throws(
      () => openSqliteLog({ path: freshPath(), checkpointFrames: 0, retentionIntervalMs: 0 }),
      LogInputError,
    );
    assert.throws(
      () => openSqliteLog({ path: freshPath(), checkpoint: "never" as "inline", retentionIntervalMs: 0 }),
      LogInputError,
    );
  });

  it("runs retention in the background", async () => {
    const log = openSqliteLog({ path: freshPath(), retentionIntervalMs: 20, retentionBatchSize: 25 });
    try {
      await log.append(
        Array.from({ length: 200 }, () => testEvent()),
        { stream: "queue-1" },
      );
      log.setRetention([{ streamPrefix: "queue-", maxCount: 10 }]);
      for (let waited = 0; waited < 5000; waited += 20) {
        if ((await log.read({ limit: 1000 })).events.length === 10) break;
        await sleep(20);
      }
      const left = await log.readStream("queue-1", { limit: 1000 });
      assert.deepEqual(
        left.map((e) => e.version),
        Array.from({ length: 10 }, (_, i) => 190 + i),
      );
    } finally {
      await log.close();
    }
  });

  it("deletes in small batches, so appends commit while retention is running", async () => {
    const log = openSqliteLog({ path: freshPath(), retentionIntervalMs: 0, retentionBatchSize: 100 });
    try {
      for (let i = 0; i < 4; i++)
        await log.append(
          Array.from({ length: 500 }, () => testEvent()),
          { stream: "bulk" },
        );
      log.setRetention([{ streamPrefix: "bulk", maxCount: 0 }]);
      const order: string[] = [];
      const retention = log.runRetention().then((report) => {
        order.push("retention");
        return report;
      });
      // Queued while the first retention batch is queued: it commits with one of the first groups.
      const append = log.append([testEvent()], { stream: "other" }).then(() => order.push("append"));
      const [report] = await Promise.all([retention, append]);
      assert.equal(report.deleted, 2000);
      assert.deepEqual(order, ["append", "retention"]);
      assert.equal(await log.headPosition(), 2001);
    } finally {
      await log.close();
    }
  });

  it("splits a very large group into several commits and keeps positions gapless", async () => {
    const log = openSqliteLog({ path: freshPath(), retentionIntervalMs: 0 });
    try {
      const batches = Array.from({ length: 3 }, () => Array.from({ length: 12_000 }, () => testEvent()));
      const answers = await Promise.all(batches.map((batch) => log.append(batch)));
      const positions = answers.flat().map((r) => r.position);
      assert.deepEqual(
        positions,
        Array.from({ length: 36_000 }, (_, i) => i + 1),
      );
    } finally {
      await log.close();
    }
  });

  it("commits writes still queued when it is closed", async () => {
    const path = freshPath();
    const log = openSqliteLog({ path, retentionIntervalMs: 0 });
    const pending = [log.append([testEvent()]), log.checkpoints.store("g", 1), log.append([testEvent()])];
    await log.close();
    await Promise.all(pending);
    const again = openSqliteLog({ path, retentionIntervalMs: 0 });
    assert.equal(await again.headPosition(), 2);
    assert.equal(await again.checkpoints.load("g"), 1);
    await again.close();
  });
});
