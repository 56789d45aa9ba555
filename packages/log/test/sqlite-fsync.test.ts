// The WAL's fsync on the thread pool (durability "full", commitSync "thread-pool"): a write resolves
// only after an fsync that started after its COMMIT, writes queued during an fsync commit together
// when it ends and resolve in order, readers never see what is not durable yet, and a failed
// fsync fails the writes waiting for it and every later write. The fsync is injected (syncFile) and
// held by the test, so nothing here depends on timing.
import assert from "node:assert/strict";
import { fstatSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type EventLog, LogFailedError, openSqliteLog, type SyncFile } from "@herald/log";
import { sleep, testEvent } from "./support/events.js";

const dir = mkdtempSync(join(tmpdir(), "herald-fsync-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;
const freshPath = (): string => join(dir, `fsync-${++count}.db`);

/** An fsync the test releases by hand: each call waits until release() or fail(). */
function heldSync(): {
  readonly syncFile: SyncFile;
  readonly calls: () => number;
  readonly pending: () => number;
  readonly release: () => void;
  readonly fail: (error: Error) => void;
  readonly fds: number[];
} {
  const waiting: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  const fds: number[] = [];
  let calls = 0;
  return {
    syncFile: (fd) =>
      new Promise<void>((resolve, reject) => {
        calls += 1;
        fds.push(fd);
        waiting.push({ resolve, reject });
      }),
    calls: () => calls,
    pending: () => waiting.length,
    release: () => waiting.shift()?.resolve(),
    fail: (error) => waiting.shift()?.reject(error),
    fds,
  };
}

/** Lets the group commit's setImmediate flush and any settled promise callbacks run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}

/** Tracks whether a promise has settled yet. */
function track<T>(promise: Promise<T>): { readonly settled: () => boolean; readonly promise: Promise<T> } {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  return { settled: () => settled, promise };
}

async function visible(log: EventLog, stream: string) {
  return {
    head: await log.headPosition(),
    read: (await log.read({ after: 0 })).events.map((event) => event.position),
    next: (await log.read({ after: 0 })).next,
    stream: (await log.readStream(stream)).map((event) => event.version),
    backwards: (await log.readStream(stream, { direction: "backwards" })).map((event) => event.version),
    info: await log.streamInfo(stream),
    listed: (await log.listStreams()).map((info) => info.stream),
    atTime: await log.positionAtTime(Date.now() + 60_000),
  };
}

describe("SQLite log, WAL fsync on the thread pool", () => {
  it("resolves an append only after its fsync; until then no read API shows it", async () => {
    const sync = heldSync();
    const path = freshPath();
    const log = openSqliteLog({ path, retentionIntervalMs: 0, syncFile: sync.syncFile });
    try {
      const first = track(log.append([testEvent({ subject: "a" })], { stream: "s" }));
      await turns(3);
      assert.equal(sync.calls(), 1, "the COMMIT started one fsync");
      assert.equal(first.settled(), false, "the append waits for its fsync");
      assert.deepEqual(await visible(log, "s"), {
        head: 0,
        read: [],
        next: 0,
        stream: [],
        backwards: [],
        info: undefined,
        listed: [],
        atTime: 1,
      });
      const subscriber = log.subscribe({ after: 0 });
      const delivered = track(subscriber[Symbol.asyncIterator]().next());
      await turns(3);
      assert.equal(delivered.settled(), false, "a subscriber is not woken before the fsync");

      sync.release();
      const [result] = await first.promise;
      assert.equal(result!.position, 1);
      assert.equal((await delivered.promise).value?.position, 1);
      await subscriber.close();
      assert.deepEqual(await visible(log, "s"), {
        head: 1,
        read: [1],
        next: 1,
        stream: [0],
        backwards: [0],
        info: { stream: "s", version: 0, deleted: false },
        listed: ["s"],
        atTime: 2,
      });
      // The fd synced is the WAL file's.
      assert.equal(fstatSync(sync.fds[0]!).ino, statSync(`${path}-wal`).ino);
    } finally {
      while (sync.pending() > 0) sync.release();
      await log.close();
    }
  });

  it("writes queued during an fsync commit as one group after it; groups resolve in commit order", async () => {
    const sync = heldSync();
    const log = openSqliteLog({ path: freshPath(), retentionIntervalMs: 0, syncFile: sync.syncFile });
    try {
      const order: number[] = [];
      const append = (n: number) =>
        track(
          log.append([testEvent({ subject: String(n) })], { stream: "s" }).then((results) => {
            order.push(n);
            return results;
          }),
        );
      const a = append(1);
      await turns(3);
      assert.equal(sync.calls(), 1);
      // Two more appends arrive while the first fsync is held: they wait for it (one fsync at a
      // time, and a commit only after the running fsync), and none resolves.
      const b = append(2);
      await turns(3);
      const c = append(3);
      await turns(3);
      assert.equal(sync.calls(), 1, "one fsync at a time");
      assert.equal(a.settled() || b.settled() || c.settled(), false);
      assert.equal(await log.headPosition(), 0);
      assert.equal((await log.streamInfo("s")) === undefined, true);

      sync.release(); // only group 1 is durable; 2 and 3 commit now, as one group, and wait for the next fsync
      await turns(3);
      assert.deepEqual(order, [1]);
      assert.equal(await log.headPosition(), 1);
      assert.equal((await log.streamInfo("s"))?.version, 0);
      assert.deepEqual(
        (await log.readStream("s", { direction: "backwards", from: 5 })).map((event) => event.version),
        [0],
      );
      assert.deepEqual(
        (await log.readStream("s")).map((event) => event.version),
        [0],
        "versions 1 and 2 are committed, not durable",
      );
      assert.deepEqual(
        (await log.read({ after: 0 })).events.map((event) => event.position),
        [1],
      );
      assert.equal(sync.calls(), 2, "one fsync covers both appends queued meanwhile");
      assert.equal(b.settled() || c.settled(), false);

      sync.release();
      await Promise.all([b.promise, c.promise]);
      assert.deepEqual(order, [1, 2, 3]);
      assert.deepEqual(
        (await a.promise).concat(await b.promise, await c.promise).map((r) => [r.position, r.version]),
        [
          [1, 0],
          [2, 1],
          [3, 2],
        ],
      );
      assert.equal(await log.headPosition(), 3);
    } finally {
      while (sync.pending() > 0) sync.release();
      await log.close();
    }
  });

  it("a stream deleted by a group not yet durable still reads as it was", async () => {
    const sync = heldSync();
    const log = openSqliteLog({ path: freshPath(), retentionIntervalMs: 0, syncFile: sync.syncFile });
    try {
      const appended = log.append([testEvent(), testEvent()], { stream: "s" });
      await turns(3);
      sync.release();
      await appended;
      const deleted = track(log.deleteStream("s"));
      await turns(3);
      assert.equal(deleted.settled(), false);
      assert.deepEqual(await log.streamInfo("s"), { stream: "s", version: 1, deleted: false });
      sync.release();
      await deleted.promise;
      assert.deepEqual(await log.streamInfo("s"), { stream: "s", version: 1, deleted: true });
    } finally {
      while (sync.pending() > 0) sync.release();
      await log.close();
    }
  });

  it("a failed fsync fails the writes waiting for it and every later write", async () => {
    const sync = heldSync();
    const path = freshPath();
    const log = openSqliteLog({ path, retentionIntervalMs: 0, syncFile: sync.syncFile });
    const ok = log.append([testEvent()], { stream: "s" });
    await turns(3);
    sync.release();
    await ok;
    const lost = track(log.append([testEvent()], { stream: "s" }));
    await turns(3);
    const meanwhile = track(log.append([testEvent()], { stream: "s" })); // queued during the failing fsync
    await turns(3);
    sync.fail(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    await assert.rejects(lost.promise, (error: unknown) => {
      assert.ok(error instanceof LogFailedError);
      assert.equal((error.cause as NodeJS.ErrnoException).code, "EIO");
      return true;
    });
    await assert.rejects(meanwhile.promise, LogFailedError);
    await assert.rejects(log.append([testEvent()]), LogFailedError);
    await assert.rejects(log.deleteStream("s"), LogFailedError);
    await assert.rejects(log.checkpoints.store("g", 1), LogFailedError);
    assert.equal(sync.calls(), 2, "no fsync after the failed one");
    // Readers keep the last durable state.
    assert.equal(await log.headPosition(), 1);
    assert.deepEqual(
      (await log.read({ after: 0 })).events.map((event) => event.position),
      [1],
    );
    await log.close();
    // Reopened, the log recovers what the disk holds (here, the page cache was fine: the failed
    // group's commit is there; the write queued behind it never committed).
    const reopened = openSqliteLog({ path, retentionIntervalMs: 0 });
    try {
      assert.equal(await reopened.headPosition(), 2);
      assert.equal((await reopened.append([testEvent()]))[0]!.position, 3);
    } finally {
      await reopened.close();
    }
  });

  it("close waits for the fsync of the writes it commits", async () => {
    const sync = heldSync();
    const log = openSqliteLog({ path: freshPath(), retentionIntervalMs: 0, syncFile: sync.syncFile });
    const appended = track(log.append([testEvent()]));
    const closed = track(log.close());
    await turns(3);
    assert.equal(closed.settled() || appended.settled(), false);
    sync.release();
    await closed.promise;
    assert.equal((await appended.promise)[0]!.position, 1);
  });

  it("durability normal and commitSync inline do not call syncFile", async () => {
    for (const options of [{ durability: "normal" as const }, { commitSync: "inline" as const }]) {
      const sync = heldSync();
      const log = openSqliteLog({
        path: freshPath(),
        retentionIntervalMs: 0,
        syncFile: sync.syncFile,
        ...options,
      });
      try {
        await log.append([testEvent()]);
        assert.equal(await log.headPosition(), 1);
        assert.equal(sync.calls(), 0);
      } finally {
        await log.close();
      }
    }
  });

  for (const checkpoint of ["inline", "background"] as const)
    it(`keeps syncing the same WAL file across WAL restarts (checkpoint ${checkpoint})`, async () => {
      const path = freshPath();
      const synced: number[] = [];
      const log = openSqliteLog({
        path,
        retentionIntervalMs: 0,
        checkpoint,
        checkpointFrames: 20,
        syncFile: async (fd) => {
          synced.push(fstatSync(fd).ino);
        },
      });
      try {
        for (let i = 0; i < 30; i++) {
          await log.append(Array.from({ length: 20 }, () => testEvent({ data: { pad: "z".repeat(2000) } })));
          assert.equal(synced[synced.length - 1], statSync(`${path}-wal`).ino);
          if (checkpoint === "background") await sleep(60); // the worker polls every 50 ms
        }
        // 30 appends of ~40 KB each write ~1.4 MB of WAL frames: a WAL under 1 MB was restarted from
        // its start at least once (after a checkpoint; how often depends on the worker's timing).
        const walBytes = statSync(`${path}-wal`).size;
        assert.ok(walBytes < 1_000_000, `WAL of ${walBytes} bytes`);
        assert.equal(new Set(synced).size, 1);
        assert.equal(await log.headPosition(), 600);
      } finally {
        await log.close();
      }
    });
});
