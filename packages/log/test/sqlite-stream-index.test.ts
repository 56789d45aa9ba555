// The stream index's two tiers (src/sqlite/stream-index.ts): appends stay out of the on-disk
// B-tree until the merge lag, merges move them in and keep every stream readable, a merge round
// cut by a crash resumes without a duplicate or a lost entry, and a schema-2 database migrates.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openSqliteLog, type EventLog } from "@herald/log";
import Database from "better-sqlite3";
import { testEvent } from "./support/events.js";

const dir = mkdtempSync(join(tmpdir(), "herald-stream-index-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;
const freshPath = (): string => join(dir, `index-${++count}.db`);

/** Lets the merge steps (one per turn of the event loop) run. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** [entries on disk, watermark, round_end, round_after] of a closed log's file. */
function diskState(path: string): [number, number, number, string] {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare(
        "SELECT (SELECT count(*) FROM stream_index), through, round_end, round_after FROM stream_index_state",
      )
      .raw(true)
      .get() as [number, number, number, string];
  } finally {
    db.close();
  }
}

/** Every stream's positions read back through readStream, forwards and backwards. */
async function streamPositions(log: EventLog, streams: readonly string[]): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const stream of streams) {
    const forwards = (await log.readStream(stream, { limit: 10_000 })).map((e) => e.position);
    const backwards = (await log.readStream(stream, { direction: "backwards", limit: 10_000 })).map(
      (e) => e.position,
    );
    assert.deepEqual(backwards, [...forwards].reverse(), `${stream} reads the same both ways`);
    out[stream] = forwards;
  }
  return out;
}

/** The positions of each stream, from the global log. */
async function expectedPositions(log: EventLog): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  const page = await log.read({ limit: 10_000 });
  for (const e of page.events) {
    const positions = out[e.stream] ?? [];
    positions.push(e.position);
    out[e.stream] = positions;
  }
  return out;
}

const STREAMS = ["s-a", "s-b", "s-c", "s-d", "s-e", "s-f", "s-g"];

async function appendSpread(log: EventLog, n: number, offset = 0): Promise<void> {
  for (let i = 0; i < n; i++)
    await log.append([
      testEvent({ id: `e-${offset + i}`, partitionkey: STREAMS[(offset + i) % STREAMS.length]! }),
    ]);
}

describe("SQLite stream index", () => {
  it("keeps appends out of stream_index until the merge lag, then merges all of them", async () => {
    const path = freshPath();
    const options = { path, retentionIntervalMs: 0, streamIndexMergeLag: 100, streamIndexMergeStep: 30 };
    let log = openSqliteLog(options);
    await appendSpread(log, 99);
    await turns(20);
    const before = await streamPositions(log, STREAMS);
    assert.deepEqual(before, await expectedPositions(log));
    await log.close();
    assert.deepEqual(diskState(path), [0, 0, 0, ""], "99 events: nothing merged");

    log = openSqliteLog(options);
    assert.deepEqual(await streamPositions(log, STREAMS), before, "the memory tier is rebuilt at open");
    await appendSpread(log, 1, 99);
    await turns(20);
    const merged = await streamPositions(log, STREAMS);
    assert.deepEqual(merged, await expectedPositions(log));
    await log.close();
    assert.deepEqual(diskState(path), [100, 100, 0, ""], "the 100th event started a round that moved all");

    log = openSqliteLog(options);
    try {
      assert.deepEqual(await streamPositions(log, STREAMS), merged);
      assert.deepEqual((await log.streamInfo("s-c"))?.version, 13);
    } finally {
      await log.close();
    }
  });

  it("resumes a merge round that a crash cut short, without duplicating an entry", async () => {
    const path = freshPath();
    let log = openSqliteLog({ path, retentionIntervalMs: 0 });
    await appendSpread(log, 70);
    const expected = await expectedPositions(log);
    await log.close();
    // What a crash after the round's first step leaves: the events at or below position 50 of the
    // streams up to "s-c" are on disk, the watermark has not moved.
    const db = new Database(path);
    db.exec(`INSERT INTO stream_index (stream, version, position)
             SELECT stream, version, position FROM events WHERE position <= 50 AND stream <= 's-c'
             ORDER BY stream, version;
             UPDATE stream_index_state SET round_end = 50, round_after = 's-c';`);
    const moved = db.prepare("SELECT count(*) FROM stream_index").raw(true).get() as [number];
    db.close();
    assert.ok(moved[0] > 0 && moved[0] < 50);

    // Reopened: reads already see every stream whole, before the round goes on.
    log = openSqliteLog({
      path,
      retentionIntervalMs: 0,
      streamIndexMergeLag: 1_000,
      streamIndexMergeStep: 4,
    });
    assert.deepEqual(await streamPositions(log, STREAMS), expected);
    await log.append([testEvent({ id: "after-crash", partitionkey: "s-a" })]);
    await turns(20);
    expected["s-a"] = [...(expected["s-a"] ?? []), 71];
    assert.deepEqual(await streamPositions(log, STREAMS), expected);
    await log.close();
    assert.deepEqual(diskState(path), [50, 50, 0, ""], "the round finished at its end position");
  });

  it("deletes streams and retains by count across both tiers", async () => {
    const path = freshPath();
    const log = openSqliteLog({
      path,
      retentionIntervalMs: 0,
      streamIndexMergeLag: 10,
      streamIndexMergeStep: 3,
    });
    try {
      await appendSpread(log, 40);
      await turns(20); // rounds moved most of the events to disk; the newest are in memory
      await appendSpread(log, 5, 40);
      log.setRetention([{ streamPrefix: "s-", maxCount: 2 }]);
      await log.runRetention();
      const kept = await streamPositions(log, STREAMS);
      for (const stream of STREAMS) assert.equal(kept[stream]!.length, 2, `${stream} keeps its newest 2`);
      assert.deepEqual(kept, await expectedPositions(log));
      await log.deleteStream("s-b", { hard: true });
      await turns(20);
      const expected = await expectedPositions(log);
      assert.equal(expected["s-b"], undefined);
      assert.deepEqual(await log.readStream("s-b"), []);
      // Recreated after the hard delete: versions start again at 0, whichever tier held the old ones.
      const [again] = await log.append([testEvent({ id: "again", partitionkey: "s-b" })]);
      assert.equal(again!.version, 0);
      await appendSpread(log, 20, 45);
      await turns(20);
      const positions = await streamPositions(log, STREAMS);
      assert.deepEqual(positions, await expectedPositions(log));
      assert.deepEqual(
        (await log.listStreams({ prefix: "s-" })).map((s) => s.stream),
        STREAMS,
      );
    } finally {
      await log.close();
    }
  });

  it("migrates a schema-2 database: its (stream, version) index becomes stream_index, links are indexed", async () => {
    const path = freshPath();
    const v2 = new Database(path);
    v2.exec(`
      CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL,
        type TEXT NOT NULL, recorded_at INTEGER NOT NULL, json TEXT NOT NULL);
      CREATE UNIQUE INDEX events_by_stream_version ON events (stream, version);
      CREATE TABLE dedupe_keys (first_position INTEGER PRIMARY KEY, hashes BLOB NOT NULL);
      CREATE TABLE streams (name TEXT PRIMARY KEY, version INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
      CREATE TABLE checkpoints (consumer_group TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE log_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      PRAGMA user_version = 2;
    `);
    const insert = v2.prepare("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)");
    v2.transaction(() => {
      for (let i = 1; i <= 300; i++) {
        const event = {
          specversion: "1.0",
          id: `v2-${i}`,
          source: "/v2",
          type: "com.example.v2",
          // Every 100th event is linked (a number is not an id: left out of the index).
          ...(i % 100 === 0 ? { correlationid: "c-1", causationid: `v2-${i - 1}` } : {}),
          ...(i === 7 ? { correlationid: 7 } : {}),
        };
        insert.run(
          i,
          `v2-${i % 3}`,
          Math.floor((i - 1) / 3),
          event.type,
          1_700_000_000_000 + i,
          JSON.stringify(event),
        );
      }
    })();
    v2.close();

    const log = openSqliteLog({ path, retentionIntervalMs: 0 });
    try {
      assert.deepEqual(
        (await log.readStream("v2-1", { limit: 3 })).map((e) => e.position),
        [1, 4, 7],
      );
      const [next] = await log.append([testEvent({ id: "after" })], { stream: "v2-0", expectedVersion: 99 });
      assert.deepEqual([next!.position, next!.version], [301, 100]);
      assert.deepEqual(
        (await log.readLinked("correlationid", "c-1")).events.map((e) => e.position),
        [100, 200, 300],
      );
      assert.deepEqual(
        (await log.readLinked("causationid", "v2-199")).events.map((e) => e.position),
        [200],
      );
      assert.deepEqual(
        (await log.readLinked("id", "v2-300")).events.map((e) => e.position),
        [300],
      );
      assert.deepEqual((await log.readLinked("id", "v2-7")).events, []);
    } finally {
      await log.close();
    }
    assert.deepEqual(diskState(path), [300, 300, 0, ""]);
    const check = new Database(path, { readonly: true });
    try {
      assert.equal(check.pragma("user_version", { simple: true }), 4);
      const indexes = check
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")
        .all();
      assert.deepEqual(indexes, []);
    } finally {
      check.close();
    }
  });
});
