// The SQLite schema of the log. Documented in packages/log/README.md ("Database schema").
import type Database from "better-sqlite3";
import { keyHash, packHashes } from "./dedupe-window.js";

export const SCHEMA_VERSION = 4;

const DDL = `
CREATE TABLE IF NOT EXISTS events (
  position    INTEGER PRIMARY KEY,      -- global position, assigned by the single writer
  stream      TEXT    NOT NULL,
  version     INTEGER NOT NULL,         -- 0-based version within the stream
  type        TEXT    NOT NULL,         -- for retention by event type
  recorded_at INTEGER NOT NULL,         -- commit time, ms since the epoch, non-decreasing with position
  json        TEXT    NOT NULL          -- the event in the CloudEvents JSON format (source and id are in it)
);
-- Where each stream's events are (stream-index.ts): every event at or below stream_index_state.through;
-- the newer ones are indexed in memory (rebuilt from events at open) and merged here in (stream,
-- version) order, so an append writes no page of this B-tree.
CREATE TABLE IF NOT EXISTS stream_index (
  stream   TEXT    NOT NULL,
  version  INTEGER NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (stream, version)
) WITHOUT ROWID;
-- One row: the merge watermark, and how far a merge round cut by a crash got (round_end > through:
-- the events at or below round_end of the streams named up to round_after are in stream_index).
CREATE TABLE IF NOT EXISTS stream_index_state (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  through     INTEGER NOT NULL,
  round_end   INTEGER NOT NULL,
  round_after TEXT    NOT NULL
);
INSERT OR IGNORE INTO stream_index_state (id, through, round_end, round_after) VALUES (1, 0, 0, '');
-- The duplicate window's hashes, one row per group commit (dedupe-window.ts): 4 bytes per event,
-- appended in position order and dropped from the front once out of the window. No index on
-- source+id: its random inserts were what slowed appends as the log grew.
CREATE TABLE IF NOT EXISTS dedupe_keys (
  first_position INTEGER PRIMARY KEY,   -- the position of the first hash in the row
  hashes         BLOB    NOT NULL       -- int32 little-endian keyHash(source, id) per position
);
-- Only what the events cannot tell: tombstones, and versions whose newest events retention removed.
-- A stream's version is max(this row's version, its newest event's version) — see stream-catalog.ts.
CREATE TABLE IF NOT EXISTS streams (
  name    TEXT    PRIMARY KEY,
  version INTEGER NOT NULL,             -- the stream's version when the row was written
  deleted INTEGER NOT NULL DEFAULT 0    -- 1 = tombstone
) WITHOUT ROWID;
-- The lineage index (links.ts): rows only for events that carry causationid or correlationid, keyed
-- 'c:<causationid>', 'r:<correlationid>' and 'i:<id>'. Events with neither write nothing here. Rows of
-- removed events stay (readers join with events and skip them).
CREATE TABLE IF NOT EXISTS event_links (
  key      TEXT    NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (key, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
  consumer_group TEXT    PRIMARY KEY,
  position       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS metadata (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
-- Scheduled delivery (sqlite-schedule.ts): events held back until deliver_at, moved into events by
-- the release transaction. Added without a version bump: CREATE IF NOT EXISTS, older builds ignore it.
CREATE TABLE IF NOT EXISTS scheduled (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT, -- order of scheduling, never reused (the list cursor)
  source     TEXT    NOT NULL,
  id         TEXT    NOT NULL,
  stream     TEXT    NOT NULL,               -- where the release appends it
  deliver_at INTEGER NOT NULL,               -- ms since the epoch
  json       TEXT    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS scheduled_by_source_id ON scheduled (source, id);
CREATE INDEX IF NOT EXISTS scheduled_by_due ON scheduled (deliver_at, seq);
CREATE TABLE IF NOT EXISTS log_state (
  key   TEXT    PRIMARY KEY,            -- 'head': highest position ever committed (survives deletion of the tail)
  value INTEGER NOT NULL
) WITHOUT ROWID;
`;

export type Durability = "full" | "normal";

/** Where WAL checkpoints run; see SqliteLogOptions.checkpoint. */
export type CheckpointMode = "inline" | "background";

/**
 * Pragmas of the log's own connection. "inline" (the default): the connection locks the file
 * exclusively (one process owns the log: positions and versions are assigned in memory by its single
 * writer) and SQLite checkpoints inside the COMMIT that crosses checkpointFrames. "background" on a
 * file: a worker checkpoints (background-checkpoint.ts), so the writer never does
 * (wal_autocheckpoint=0), and the file cannot be locked exclusively because the worker has its own
 * connection (ownership is owner-lock.ts then). An in-memory database has no WAL and keeps the
 * exclusive mode.
 */
export function configureConnection(
  db: Database.Database,
  syncAtCommit: boolean,
  checkpointInWorker: boolean,
  checkpointFrames: number,
): void {
  db.pragma("journal_mode = WAL");
  // NORMAL still syncs at checkpoints; a commit's own fsync is then wal-sync.ts's job (or nobody's,
  // with durability "normal").
  db.pragma(`synchronous = ${syncAtCommit ? "FULL" : "NORMAL"}`);
  if (!checkpointInWorker) db.pragma("locking_mode = EXCLUSIVE");
  db.pragma("cache_size = -65536");
  db.pragma("temp_store = MEMORY");
  // Checkpoint every ~40 MiB of WAL (default checkpointFrames) instead of 4 MiB: index pages
  // rewritten by many commits reach the database file once per checkpoint, which cut bytes written
  // per event by ~17 % (measured).
  db.pragma(`wal_autocheckpoint = ${checkpointInWorker ? 0 : checkpointFrames}`);
  db.pragma("journal_size_limit = 67108864");
}

/**
 * Creates the schema, or migrates an older one in the same transaction (a crash leaves the old
 * schema intact). Version 1 (the first release) had `source` and `id` columns and a unique index on
 * them: the migration copies the events into the new table (200 000 events: 5 s on the dev VM) and
 * fills the duplicate window's hashes for the newest `window` events. Version 2 kept a (stream,
 * version) index on the events table, written by every append: the migration to 3 copies it into
 * stream_index in index order (stream-index.ts) and drops it. Version 3 had no lineage index: the
 * migration to 4 fills event_links from the stored events.
 */
export function applySchema(db: Database.Database, window: number): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > SCHEMA_VERSION)
    throw new Error(
      `the log database has schema version ${current}; this build knows up to ${SCHEMA_VERSION}`,
    );
  db.exec("BEGIN IMMEDIATE");
  try {
    if (current === 1) migrateFromV1(db, window);
    if (current === 2) migrateFromV2(db);
    db.exec(DDL);
    if (current >= 1 && current < 4) indexLinks(db);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

function migrateFromV1(db: Database.Database, window: number): void {
  db.exec(`
    DROP INDEX IF EXISTS events_by_id_source;
    DROP INDEX IF EXISTS events_by_stream_version;
    ALTER TABLE events RENAME TO events_v1;
  `);
  db.exec(DDL);
  db.exec(`INSERT INTO events (position, stream, version, type, recorded_at, json)
           SELECT position, stream, version, type, recorded_at, json FROM events_v1 ORDER BY position`);
  const newest = db.prepare<[], [number | null]>("SELECT max(position) FROM events_v1").raw(true).get()?.[0];
  if (newest != null) {
    // Paged, because the insert cannot run while a SELECT on the same connection is iterating.
    const page = db
      .prepare<[number], [number, string, string]>(
        "SELECT position, source, id FROM events_v1 WHERE position > ? ORDER BY position LIMIT 10000",
      )
      .raw(true);
    const insert = db.prepare<[number, Buffer]>(
      "INSERT INTO dedupe_keys (first_position, hashes) VALUES (?, ?)",
    );
    // Rows hold consecutive positions; a deleted event starts a new row (its position has no hash).
    let after = Math.max(0, newest - window);
    for (;;) {
      const rows = page.all(after);
      if (rows.length === 0) break;
      let first = rows[0]![0];
      let hashes: number[] = [];
      for (const [position, source, id] of rows) {
        if (position !== first + hashes.length) {
          insert.run(first, packHashes(hashes));
          first = position;
          hashes = [];
        }
        hashes.push(keyHash(source, id));
      }
      insert.run(first, packHashes(hashes));
      after = rows[rows.length - 1]![0];
    }
  }
  db.exec("DROP TABLE events_v1");
  indexEveryEvent(db);
}

/** Version 2 indexed (stream, version) on the events table itself, written at every append. */
function migrateFromV2(db: Database.Database): void {
  db.exec(DDL);
  indexEveryEvent(db);
  db.exec("DROP INDEX IF EXISTS events_by_stream_version");
}

/** Fills stream_index with every stored event and sets the watermark past them. */
function indexEveryEvent(db: Database.Database): void {
  db.exec(`INSERT INTO stream_index (stream, version, position)
           SELECT stream, version, position FROM events ORDER BY stream, version`);
  db.exec(`UPDATE stream_index_state SET through = (SELECT coalesce(max(position), 0) FROM events),
           round_end = 0, round_after = '' WHERE id = 1`);
}

/** Fills event_links from the stored events (the keys links.ts gives new appends). */
function indexLinks(db: Database.Database): void {
  const has = (name: string) =>
    `json_type(json, '$.${name}') = 'text' AND json_extract(json, '$.${name}') <> ''`;
  db.exec(`INSERT OR IGNORE INTO event_links (key, position)
           SELECT 'i:' || json_extract(json, '$.id'), position FROM events
           WHERE (${has("causationid")}) OR (${has("correlationid")})`);
  for (const [prefix, name] of [
    ["c:", "causationid"],
    ["r:", "correlationid"],
  ] as const)
    db.exec(`INSERT OR IGNORE INTO event_links (key, position)
             SELECT '${prefix}' || json_extract(json, '$.${name}'), position FROM events WHERE ${has(name)}`);
}
