// The SQLite log's deduplication guarantee (README, "Deduplication guarantee"): exact within the
// window of the newest `dedupeWindow` positions, across restarts; retried expected-version appends
// recognised exactly beyond it; hash collisions never merge two events; a first-release (v1)
// database migrates on open.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { LogInputError, openSqliteLog, VersionConflictError } from "@herald/log";
import Database from "better-sqlite3";
import { keyHash } from "../src/sqlite/dedupe-window.js";
import { testEvent } from "./support/events.js";

const dir = mkdtempSync(join(tmpdir(), "herald-dedupe-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;
const freshPath = (): string => join(dir, `dedupe-${++count}.db`);

describe("SQLite log deduplication", () => {
  it("deduplicates within the window, across a reopen, and stores again what left it", async () => {
    const path = freshPath();
    let log = openSqliteLog({ path, dedupeWindow: 10, retentionIntervalMs: 0 });
    const events = Array.from({ length: 25 }, (_, i) => testEvent({ source: "/w", id: `e-${i}` }));
    // Appends of 1–3 events, so the window's rows in dedupe_keys have different lengths.
    for (let i = 0; i < 25; ) {
      const size = 1 + (i % 3);
      await log.append(events.slice(i, i + size));
      i += size;
    }
    for (let round = 0; round < 2; round++) {
      // Positions 16..25 are in the window: the same source+id answers the first copy.
      const recent = await log.append([testEvent({ source: "/w", id: "e-20" })]);
      assert.deepEqual(
        recent.map((r) => [r.position, r.duplicate]),
        [[21, true]],
      );
      await log.close();
      log = openSqliteLog({ path, dedupeWindow: 10, retentionIntervalMs: 0 });
    }
    // e-0 (position 1) left the window long ago: it is stored again, as a new event.
    const old = await log.append([testEvent({ source: "/w", id: "e-0" })]);
    assert.deepEqual(
      old.map((r) => [r.position, r.duplicate]),
      [[26, false]],
    );
    // The window moves on with appends: e-16 (position 17) is still in it after one more event…
    assert.equal((await log.append([testEvent({ source: "/w", id: "e-16" })]))[0]!.duplicate, true);
    await log.append([testEvent()]);
    // …and out of it after one more (the window is positions 18..27 now): stored again at 28.
    assert.deepEqual(
      (await log.append([testEvent({ source: "/w", id: "e-16" })])).map((r) => [r.position, r.duplicate]),
      [[28, false]],
    );
    await log.close();
  });

  it("recognises a retried expected-version append exactly, far beyond the window", async () => {
    const log = openSqliteLog({ path: freshPath(), dedupeWindow: 5, retentionIntervalMs: 0 });
    try {
      const order = [testEvent({ id: "o-1" }), testEvent({ id: "o-2" }), testEvent({ id: "o-1" })];
      const first = await log.append(order, { stream: "order-1", expectedVersion: "no-stream" });
      assert.deepEqual(
        first.map((r) => [r.position, r.version, r.duplicate]),
        [
          [1, 0, false],
          [2, 1, false],
          [1, 0, true],
        ],
      );
      const more = await log.append([testEvent(), testEvent()], { stream: "order-1", expectedVersion: 1 });
      for (let i = 0; i < 4; i++) await log.append(Array.from({ length: 5 }, () => testEvent()));
      // The retry of both appends: answered with the first copies, not a conflict.
      const retry = await log.append(order, { stream: "order-1", expectedVersion: "no-stream" });
      assert.deepEqual(
        retry,
        first.map((r) => ({ ...r, duplicate: true })),
      );
      const retryMore = await log.append(
        more.map((r) => testEvent({ id: r.id })),
        { stream: "order-1", expectedVersion: 1 },
      );
      assert.deepEqual(
        retryMore.map((r) => [r.position, r.version, r.duplicate]),
        more.map((r) => [r.position, r.version, true]),
      );
      // A different event with the same stale expectation still conflicts.
      await assert.rejects(
        log.append([testEvent({ id: "o-9" })], { stream: "order-1", expectedVersion: 1 }),
        (error: unknown) => error instanceof VersionConflictError && error.actual === 3,
      );
      // So does the retry with its events in another order.
      await assert.rejects(
        log.append([testEvent({ id: "o-2" }), testEvent({ id: "o-1" })], {
          stream: "order-1",
          expectedVersion: "no-stream",
        }),
        VersionConflictError,
      );
      assert.equal(await log.headPosition(), 24);
    } finally {
      await log.close();
    }
  });

  it("never takes an event for a duplicate of another with the same hash", async () => {
    // Two ids with the same 32-bit keyHash (found by a birthday search, ~2^16 tries).
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const id = `c-${i}`;
      const hash = keyHash("/c", id);
      const other = seen.get(hash);
      if (other !== undefined) pair = [other, id];
      else seen.set(hash, id);
    }
    const log = openSqliteLog({ path: freshPath(), retentionIntervalMs: 0 });
    try {
      const [a, b] = pair;
      const stored = await log.append([
        testEvent({ source: "/c", id: a }),
        testEvent({ source: "/c", id: b }),
      ]);
      assert.deepEqual(
        stored.map((r) => [r.position, r.duplicate]),
        [
          [1, false],
          [2, false],
        ],
      );
      const again = await log.append([
        testEvent({ source: "/c", id: b }),
        testEvent({ source: "/c", id: a }),
      ]);
      assert.deepEqual(
        again.map((r) => [r.id, r.position, r.duplicate]),
        [
          [b, 2, true],
          [a, 1, true],
        ],
      );
    } finally {
      await log.close();
    }
  });

  it("rejects a bad dedupeWindow with LogInputError", () => {
    for (const dedupeWindow of [0, -1, 1.5, 2 ** 27 + 1])
      assert.throws(
        () => openSqliteLog({ path: freshPath(), dedupeWindow, retentionIntervalMs: 0 }),
        LogInputError,
      );
  });

  it("migrates a first-release (schema 1) database on open", async () => {
    const path = freshPath();
    const v1 = new Database(path);
    v1.exec(`
      CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL,
        source TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, recorded_at INTEGER NOT NULL, json TEXT NOT NULL);
      CREATE UNIQUE INDEX events_by_id_source ON events (id, source);
      CREATE UNIQUE INDEX events_by_stream_version ON events (stream, version);
      CREATE TABLE streams (name TEXT PRIMARY KEY, version INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
      CREATE TABLE checkpoints (consumer_group TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE log_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO checkpoints VALUES ('billing', 2);
      PRAGMA user_version = 1;
    `);
    const insert = v1.prepare("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    // Enough events for several pages of the migration; position 20 000 was deleted (a hole).
    v1.transaction(() => {
      for (let i = 1; i <= 25_004; i++) {
        if (i === 20_000) continue;
        const stream = i <= 4 ? "old" : "bulk";
        const version = i <= 4 ? i - 1 : i < 20_000 ? i - 5 : i - 6;
        const event = { specversion: "1.0", id: `v1-${i}`, source: "/old", type: "com.example.old" };
        const json = JSON.stringify(event);
        insert.run(i, stream, version, event.source, event.id, event.type, 1_700_000_000_000 + i, json);
      }
    })();
    v1.close();

    const log = openSqliteLog({ path, retentionIntervalMs: 0 });
    try {
      const page = await log.read({ limit: 4 });
      assert.deepEqual(
        page.events.map((e) => [e.position, e.stream, e.version, e.event.id]),
        [1, 2, 3, 4].map((i) => [i, "old", i - 1, `v1-${i}`]),
      );
      assert.equal(await log.headPosition(), 25_004);
      // Events from every page of the migration are duplicates; the deleted one is not.
      const resent = await log.append(
        [12_345, 19_999, 20_001, 25_004, 20_000].map((i) => testEvent({ source: "/old", id: `v1-${i}` })),
      );
      assert.deepEqual(
        resent.map((r) => [r.position, r.duplicate]),
        [
          [12_345, true],
          [19_999, true],
          [20_001, true],
          [25_004, true],
          [25_005, false],
        ],
      );
      // Events of the old file are in the duplicate window; versions and positions continue.
      const [dup, fresh] = await log.append(
        [testEvent({ source: "/old", id: "v1-3" }), testEvent({ source: "/old", id: "new-1" })],
        { stream: "old", expectedVersion: 3 },
      );
      assert.deepEqual(
        [dup!.position, dup!.duplicate, fresh!.position, fresh!.version],
        [3, true, 25_006, 4],
      );
      assert.equal(await log.checkpoints.load("billing"), 2);
    } finally {
      await log.close();
    }
    const check = new Database(path, { readonly: true });
    try {
      assert.equal(check.pragma("user_version", { simple: true }), 4);
      const columns = (check.prepare("PRAGMA table_info(events)").all() as { name: string }[]).map(
        (c) => c.name,
      );
      assert.deepEqual(columns, ["position", "stream", "version", "type", "recorded_at", "json"]);
      const indexes = check
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")
        .all();
      // No index on the events table: stream_index holds every event (merged by the migration, the
      // appends since are below the merge lag and live in the memory tier).
      assert.deepEqual(indexes, []);
      const [indexed, through] = check
        .prepare("SELECT (SELECT count(*) FROM stream_index), (SELECT through FROM stream_index_state)")
        .raw(true)
        .get() as [number, number];
      assert.deepEqual([indexed, through], [25_003, 25_004]);
    } finally {
      check.close();
    }
  });
});
