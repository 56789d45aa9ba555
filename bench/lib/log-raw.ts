// The ceiling: a raw better-sqlite3 insert loop writing the same rows into the same schema with
// the same durability and pragmas, with none of the log's work (no dedupe lookups, versions, promises).
// With schema "v1" it writes the first release's schema instead (source and id columns, a unique
// index on them): the baseline bench/growth.ts compares the log against.
import type { CloudEvent } from "@herald/cloudevents";
import Database from "better-sqlite3";

export interface RawSqlite {
  /** Inserts the events in transactions of `batchSize` rows; returns per-transaction latencies (ms). */
  insertBatches(events: readonly CloudEvent[], jsons: readonly string[], batchSize: number): number[];
  readAll(): number;
  close(): void;
}

/** The log's schema version 1 (the first release), with its unique (id, source) index. */
const V1_DDL = `
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL, source TEXT NOT NULL,
  id TEXT NOT NULL, type TEXT NOT NULL, recorded_at INTEGER NOT NULL, json TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_id_source ON events (id, source);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream_version ON events (stream, version);
`;

/** The log's events table with a 64-bit hash index of source+id instead of a window (an alternative). */
const HASH64_DDL = `
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL, type TEXT NOT NULL,
  recorded_at INTEGER NOT NULL, json TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream_version ON events (stream, version);
CREATE TABLE IF NOT EXISTS dedupe (hash INTEGER NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (hash, position)) WITHOUT ROWID;
`;

/**
 * "log": the file already has the log's own schema (open and close a log on it first).
 * "v1": the first release's schema, created here.
 * "hash64": the log's events table plus an on-disk index of 64-bit source+id hashes, created here.
 */
export type RawSchema = "log" | "v1" | "hash64";

export function openRawSqlite(
  path: string,
  durability: "full" | "normal",
  schema: RawSchema = "log",
): RawSqlite {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${durability === "full" ? "FULL" : "NORMAL"}`);
  db.pragma("locking_mode = EXCLUSIVE");
  db.pragma("cache_size = -65536");
  db.pragma("wal_autocheckpoint = 10000");
  if (schema === "v1") db.exec(V1_DDL);
  if (schema === "hash64") db.exec(HASH64_DDL);
  const insertHash =
    schema === "hash64"
      ? db.prepare<[bigint, number]>("INSERT INTO dedupe (hash, position) VALUES (?, ?)")
      : undefined;
  const insertV1 =
    schema === "v1"
      ? db.prepare<[number, string, number, string, string, string, number, string]>(
          "INSERT INTO events (position, stream, version, source, id, type, recorded_at, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
      : undefined;
  const insertLog =
    schema !== "v1"
      ? db.prepare<[number, string, number, string, number, string]>(
          "INSERT INTO events (position, stream, version, type, recorded_at, json) VALUES (?, ?, ?, ?, ?, ?)",
        )
      : undefined;
  const insert = {
    run(
      p: number,
      stream: string,
      v: number,
      source: string,
      id: string,
      type: string,
      at: number,
      json: string,
    ) {
      if (insertV1 !== undefined) insertV1.run(p, stream, v, source, id, type, at, json);
      else insertLog!.run(p, stream, v, type, at, json);
      if (insertHash !== undefined) insertHash.run(hash64(source, id), p);
    },
  };
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  let position = (db.prepare("SELECT max(position) AS p FROM events").get() as { p: number | null }).p ?? 0;
  const versions = new Map<string, number>();
  return {
    insertBatches(events, jsons, batchSize) {
      const latencies: number[] = [];
      for (let start = 0; start < events.length; start += batchSize) {
        const t0 = performance.now();
        const now = Date.now();
        begin.run();
        const end = Math.min(events.length, start + batchSize);
        for (let i = start; i < end; i++) {
          const event = events[i]!;
          const stream = (event as unknown as { partitionkey: string }).partitionkey;
          const version = (versions.get(stream) ?? -1) + 1;
          versions.set(stream, version);
          position += 1;
          insert.run(position, stream, version, event.source, event.id, event.type, now, jsons[i]!);
        }
        commit.run();
        latencies.push(performance.now() - t0);
      }
      return latencies;
    },
    readAll() {
      let count = 0;
      const select = db
        .prepare("SELECT position, stream, version, recorded_at, json FROM events ORDER BY position")
        .raw(true);
      for (const _row of select.iterate()) count += 1;
      return count;
    },
    close() {
      db.close();
    },
  };
}

/** A 64-bit FNV-1a hash of source+id (for the "hash64" alternative). */
function hash64(source: string, id: string): bigint {
  let h = 0xcbf29ce484222325n;
  const text = `${source}\u0000${id}`;
  for (let i = 0; i < text.length; i++)
    h = BigInt.asUintN(64, (h ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n);
  return BigInt.asIntN(64, h);
}
