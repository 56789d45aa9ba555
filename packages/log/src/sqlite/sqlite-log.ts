// The SQLite backend (better-sqlite3, WAL). One connection, one writer: every write goes through
// the group commit (group-commit.ts), so an append resolves only after the COMMIT that holds it
// and, with durability "full", after the WAL's fsync (on the thread pool: wal-sync.ts). Reads run
// on the same connection between flushes, so they could see commits whose fsync has not ended:
// every read API is clamped to the durable head (positions) and to the streams' durable states,
// so nobody is handed an event a power loss could take back. WAL checkpoints run inside
// the committing append by default; with checkpoint: "background" they run in a worker thread on a
// second connection (background-checkpoint.ts), never inside a commit.
import { statSync } from "node:fs";
import type { CloudEvent } from "@herald/cloudevents";
import Database from "better-sqlite3";
import {
  actualVersion,
  checkAppendArguments,
  checkExpectedVersion,
  checkListStreamsOptions,
  checkNonNegativeInteger,
  checkPositions,
  checkReadOptions,
  checkReadStreamOptions,
  checkRetentionPolicies,
  checkStreamName,
  expectationMet,
  type StreamState,
} from "../append-rules.js";
import { checkExpectation, duplicateResult } from "../dedupe.js";
import {
  LogClosedError,
  LogInputError,
  LogLockedError,
  StreamDeletedError,
  VersionConflictError,
} from "../errors.js";
import { decodeEvent, encodeEvent } from "../event-codec.js";
import { openIdentity, parseStoredIdentity, publicIdentity } from "../identity.js";
import type {
  AppendOptions,
  AppendResult,
  EventLog,
  LogIdentity,
  EventPredicate,
  DeleteStreamOptions,
  LinkAttribute,
  ExpectedVersion,
  ListStreamsOptions,
  LogSubscription,
  ReadLinkedOptions,
  ReadOptions,
  ReadPage,
  ReadStreamOptions,
  RetentionPolicy,
  RetentionReport,
  StoredEvent,
  StreamInfo,
  SubscribeOptions,
} from "../event-log.js";
import { HeadSignal } from "../head-signal.js";
import { checkLinkedRead, linkKey, linkKeys } from "../links.js";
import { LazyStoredEvent } from "../stored-event.js";
import { deriveStream } from "../stream-name.js";
import { CatchUpSubscription } from "../subscription.js";
import { BackgroundCheckpoint, DEFAULT_CHECKPOINT_FRAMES } from "./background-checkpoint.js";
import { DedupeWindow, keyHash, packHashes } from "./dedupe-window.js";
import { GroupCommit } from "./group-commit.js";
import { acquireOwnerLock } from "./owner-lock.js";
import { applySchema, type CheckpointMode, configureConnection, type Durability } from "./schema.js";
import { SqliteRetention } from "./sqlite-retention.js";
import { SqliteSchedule } from "./sqlite-schedule.js";
import { SqliteCheckpoints, SqliteMetadata } from "./sqlite-stores.js";
import { StreamCatalog } from "./stream-catalog.js";
import { DEFAULT_MERGE_LAG, DEFAULT_MERGE_STEP, type EventRow, StreamIndex } from "./stream-index.js";
import { type SyncFile, WalSync } from "./wal-sync.js";
import type { WriteGroup } from "./write-group.js";

/** How durability "full" makes a commit durable; see SqliteLogOptions.commitSync. */
export type CommitSync = "thread-pool" | "inline";

export interface SqliteLogOptions {
  /** Database file; created when missing. ":memory:" works too (nothing durable then). */
  readonly path: string;
  /** "full" (default): fsync of the WAL at every group commit. "normal": no fsync at commit (survives process crashes, not power loss). */
  readonly durability?: Durability;
  /**
   * With durability "full", where the fsync of a group commit runs. "thread-pool" (default): the
   * connection runs synchronous=NORMAL and the WAL is fdatasynced on libuv's thread pool after
   * COMMIT, before the writes resolve; the event loop never waits for the disk, and writes queued
   * meanwhile commit as one group when it ends. "inline": synchronous=FULL, SQLite fsyncs inside COMMIT
   * on the event loop (the behaviour before; kept for A/B measurements).
   */
  readonly commitSync?: CommitSync;
  /** The function that flushes the WAL's fd with commitSync "thread-pool" (default fs.fdatasync). For tests. */
  readonly syncFile?: SyncFile;
  /** How often background retention runs; 0 disables the timer (runRetention still works). Default 60 000. */
  readonly retentionIntervalMs?: number;
  /** Events deleted per retention transaction, so appends are never stalled for long. Default 500. */
  readonly retentionBatchSize?: number;
  /**
   * Where WAL checkpoints run. "inline" (default): SQLite's automatic checkpoint, inside the COMMIT
   * that crosses checkpointFrames; the connection locks the file exclusively. "background": a worker
   * thread with its own connection checkpoints (PASSIVE), and ownership is a lock on "<path>-owner".
   * Lower append tail latency, lower saturated throughput (packages/log/README.md).
   */
  readonly checkpoint?: CheckpointMode;
  /** WAL frames (pages) not yet in the database file that trigger a checkpoint. Default 10 000 (~40 MiB). */
  readonly checkpointFrames?: number;
  /**
   * How many of the newest positions the source+id deduplication covers (README, "Deduplication
   * guarantee"). Default 4 000 000; costs 12 bytes of memory per position (~50 MiB when full).
   */
  readonly dedupeWindow?: number;
  /**
   * Events appended since the last merge into the on-disk stream index that start the next merge
   * (README, "Stream index"). Default 250 000 (a few MB of memory; read back from the events at open).
   */
  readonly streamIndexMergeLag?: number;
  /** Index entries moved per merge transaction. Default 4 096. For tests. */
  readonly streamIndexMergeStep?: number;
}

/** The default duplicate window: ~67 minutes of events at 1 000 events/s. */
export const DEFAULT_DEDUPE_WINDOW = 4_000_000;
/** The largest window (the ring of hashes is an Int32Array indexed by position). */
const MAX_DEDUPE_WINDOW = 2 ** 27;
/** Hashes per dedupe_keys row; rows wholly before the window are dropped by first_position. */
const KEY_ROW = 16_384;

/** Opens (or creates) a SQLite log. Synchronous: the log is ready when this returns. */
export function openSqliteLog(options: SqliteLogOptions): EventLog {
  return new SqliteEventLog(options);
}

interface PreparedEvent {
  readonly event: CloudEvent;
  readonly stream: string;
  readonly json: string;
  /** keyHash(source, id) */
  readonly hash: number;
  /** Its lineage index keys (links.ts); undefined for most events (no row written). */
  readonly links: string[] | undefined;
}

/** The first copy of an event already stored. */
interface FirstCopy {
  readonly position: number;
  readonly stream: string;
  readonly version: number;
}

const FILTER_CHUNK = 512;
/** Stream states the writer keeps in memory (it is the only writer, so they stay exact). */
const STREAM_CACHE_SIZE = 100_000;
/** How long open waits for another connection to release the database. */
const OPEN_TIMEOUT_MS = 2000;

/** A lineage index row joined with its event (nulls: the event was removed). */
type LinkRow = [number, string | null, number | null, number | null, string | null];
/**
 * The log's identity (identity.ts), in table `log_identity`. The fingerprint of a file is its
 * device and inode: a backup (the backup API, a file copy) restored to a new file has another
 * one. Copying a backup over the live file in place keeps the inode and is not detected.
 */
function loadIdentity(db: Database.Database, path: string, head: number): LogIdentity {
  db.exec(
    "CREATE TABLE IF NOT EXISTS log_identity (only_row INTEGER PRIMARY KEY CHECK (only_row = 1), json TEXT NOT NULL)",
  );
  let fingerprint = "memory";
  if (path !== ":memory:") {
    const stat = statSync(path, { bigint: true });
    fingerprint = `file:${stat.dev}:${stat.ino}`;
  }
  const row = db.prepare<[], { json: string }>("SELECT json FROM log_identity WHERE only_row = 1").get();
  const { identity, changed } = openIdentity(
    row === undefined ? undefined : parseStoredIdentity(row.json),
    fingerprint,
    head,
  );
  if (changed)
    db.prepare(
      "INSERT INTO log_identity (only_row, json) VALUES (1, ?) ON CONFLICT (only_row) DO UPDATE SET json = excluded.json",
    ).run(JSON.stringify(identity));
  return publicIdentity(identity);
}

function toStored(row: EventRow): LazyStoredEvent {
  return new LazyStoredEvent(row[0], row[1], row[2], row[3], row[4]);
}

class SqliteEventLog implements EventLog {
  readonly #db: Database.Database;
  /** The owner lock (file-backed logs with checkpoint "background" only). */
  readonly #lock: Database.Database | undefined;
  readonly #checkpointer: BackgroundCheckpoint | undefined;
  readonly #signal: HeadSignal;
  readonly #retention: SqliteRetention;
  readonly checkpoints: SqliteCheckpoints;
  readonly metadata: SqliteMetadata;
  readonly scheduled: SqliteSchedule;
  readonly #writer: GroupCommit;
  readonly #walSync: WalSync | undefined;
  /**
   * Per committed group not yet durable (oldest first): the states its changed streams had before
   * it. Readers see those until the group is durable.
   */
  readonly #undurable: Array<Map<string, StreamState | undefined>> = [];
  /** Committed stream states by name (null = no such stream); saves a SELECT per stream per group. */
  readonly #streamCache = new Map<string, StreamState | null>();
  #closed = false;
  readonly #identity: LogIdentity;

  readonly #insert: Database.Statement<[number, string, number, string, number, string]>;
  readonly #eventAt: Database.Statement<[number], [string, number, string]>;
  readonly #insertKeys: Database.Statement<[number, Buffer]>;
  readonly #pruneKeys: Database.Statement<[number]>;
  readonly #window: DedupeWindow;
  readonly #catalog: StreamCatalog;
  readonly #readAfter: Database.Statement<[number, number, number], EventRow>;
  readonly #index: StreamIndex;
  readonly #deleteEvent: Database.Statement<[number]>;
  readonly #firstAtOrAfter: Database.Statement<[number], [number, number]>;
  readonly #insertLink: Database.Statement<[string, number]>;
  readonly #readLinked: Database.Statement<[string, number, number, number], LinkRow>;
  readonly #rowAt: Database.Statement<[number], EventRow>;

  constructor(options: SqliteLogOptions) {
    const durability = options.durability ?? "full";
    if (durability !== "full" && durability !== "normal")
      throw new LogInputError(`durability must be "full" or "normal", got ${String(durability)}`);
    if (typeof options.path !== "string" || options.path === "")
      throw new LogInputError("path must name the database file");
    const checkpointFrames = options.checkpointFrames ?? DEFAULT_CHECKPOINT_FRAMES;
    if (!Number.isSafeInteger(checkpointFrames) || checkpointFrames < 1)
      throw new LogInputError(`checkpointFrames must be a positive integer, got ${String(checkpointFrames)}`);
    const dedupeWindow = options.dedupeWindow ?? DEFAULT_DEDUPE_WINDOW;
    if (!Number.isSafeInteger(dedupeWindow) || dedupeWindow < 1 || dedupeWindow > MAX_DEDUPE_WINDOW)
      throw new LogInputError(
        `dedupeWindow must be an integer from 1 to ${MAX_DEDUPE_WINDOW}, got ${String(dedupeWindow)}`,
      );
    const commitSync = options.commitSync ?? "thread-pool";
    if (commitSync !== "thread-pool" && commitSync !== "inline")
      throw new LogInputError(`commitSync must be "thread-pool" or "inline", got ${String(commitSync)}`);
    const syncInPool = durability === "full" && commitSync === "thread-pool" && options.path !== ":memory:";
    const checkpoint = options.checkpoint ?? "inline";
    if (checkpoint !== "inline" && checkpoint !== "background")
      throw new LogInputError(`checkpoint must be "inline" or "background", got ${String(checkpoint)}`);
    // ":memory:" has no WAL to checkpoint and no file to share: it always runs inline.
    const inWorker = checkpoint === "background" && options.path !== ":memory:";
    let lock: Database.Database | undefined;
    let db: Database.Database | undefined;
    try {
      lock = inWorker ? acquireOwnerLock(options.path, OPEN_TIMEOUT_MS) : undefined;
      db = new Database(options.path, { timeout: OPEN_TIMEOUT_MS });
      configureConnection(db, durability === "full" && !syncInPool, inWorker, checkpointFrames);
      applySchema(db, dedupeWindow);
    } catch (error) {
      db?.close();
      lock?.close();
      if (error instanceof Database.SqliteError && error.code === "SQLITE_BUSY")
        throw new LogLockedError(options.path, { cause: error });
      throw error;
    }
    this.#db = db;
    this.#lock = lock;
    this.#insert = db.prepare(
      "INSERT INTO events (position, stream, version, type, recorded_at, json) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.#eventAt = db
      .prepare<[number], [string, number, string]>(
        "SELECT stream, version, json FROM events WHERE position = ?",
      )
      .raw(true);
    this.#insertKeys = db.prepare("INSERT INTO dedupe_keys (first_position, hashes) VALUES (?, ?)");
    this.#pruneKeys = db.prepare("DELETE FROM dedupe_keys WHERE first_position < ?");
    const mergeLag = options.streamIndexMergeLag ?? DEFAULT_MERGE_LAG;
    const mergeStep = options.streamIndexMergeStep ?? DEFAULT_MERGE_STEP;
    for (const [name, value] of [
      ["streamIndexMergeLag", mergeLag],
      ["streamIndexMergeStep", mergeStep],
    ] as const)
      if (!Number.isSafeInteger(value) || value < 1)
        throw new LogInputError(`${name} must be a positive integer, got ${String(value)}`);
    this.#index = new StreamIndex(db, {
      mergeLag,
      mergeStep,
      committedHead: () => this.#writer.head,
      writable: () => !this.#closed && !this.#writer.failed,
    });
    this.#catalog = new StreamCatalog(db, this.#index);
    const columns = "position, stream, version, recorded_at, json";
    this.#readAfter = db
      .prepare<[number, number, number], EventRow>(
        `SELECT ${columns} FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`,
      )
      .raw(true);
    this.#deleteEvent = db.prepare("DELETE FROM events WHERE position = ?");
    this.#insertLink = db.prepare("INSERT OR IGNORE INTO event_links (key, position) VALUES (?, ?)");
    // LEFT JOIN: a row whose event was removed still moves the page's cursor.
    this.#readLinked = db
      .prepare<[string, number, number, number], LinkRow>(
        `SELECT l.position, e.stream, e.version, e.recorded_at, e.json FROM event_links l
         LEFT JOIN events e ON e.position = l.position
         WHERE l.key = ? AND l.position > ? AND l.position <= ? ORDER BY l.position LIMIT ?`,
      )
      .raw(true);
    this.#rowAt = db
      .prepare<[number], EventRow>(
        `SELECT ${"position, stream, version, recorded_at, json"} FROM events WHERE position = ?`,
      )
      .raw(true);
    this.#firstAtOrAfter = db
      .prepare<[number], [number, number]>(
        "SELECT position, recorded_at FROM events WHERE position >= ? ORDER BY position LIMIT 1",
      )
      .raw(true);

    const maxPosition = db
      .prepare<[], [number | null]>("SELECT max(position) FROM events")
      .raw(true)
      .get()?.[0];
    const savedHead = db
      .prepare<[], [number]>("SELECT value FROM log_state WHERE key = 'head'")
      .raw(true)
      .get()?.[0];
    const head = Math.max(maxPosition ?? 0, savedHead ?? 0);
    const lastRecordedAt =
      db
        .prepare<[], [number]>("SELECT recorded_at FROM events ORDER BY position DESC LIMIT 1")
        .raw(true)
        .get()?.[0] ?? 0;
    this.#identity = loadIdentity(db, options.path, head);
    this.#window = loadWindow(db, head, dedupeWindow);
    const signal = new HeadSignal(head);
    this.#signal = signal;
    const walSync = syncInPool ? new WalSync(options.path, options.syncFile) : undefined;
    this.#walSync = walSync;
    this.#writer = new GroupCommit(db, {
      head,
      lastRecordedAt,
      lookupStream: (stream) => this.#committedStream(stream),
      beforeCommit: (group) => this.#storeKeys(group),
      onCommit: (group) => {
        if (walSync !== undefined) this.#undurable.push(new Map(group.changedStreamsBefore()));
        this.#window.add(group.start + 1, group.keys);
        for (const [stream, state] of group.changedStreams()) this.#streamCache.set(stream, state ?? null);
        this.#index.apply(group.indexChanges);
      },
      onDurable: (group) => {
        if (walSync !== undefined) this.#undurable.shift();
        signal.advance(group.head);
      },
      ...(walSync === undefined ? {} : { sync: () => walSync.sync() }),
    });

    const enqueue = <T>(apply: (group: WriteGroup) => T): Promise<T> => this.#writer.enqueue(apply);
    const checkOpen = (): void => this.#checkOpen();
    this.checkpoints = new SqliteCheckpoints(db, enqueue, checkOpen);
    this.metadata = new SqliteMetadata(db, enqueue, checkOpen);
    this.scheduled = new SqliteSchedule(db, {
      enqueue,
      checkOpen,
      inLog: (group, source, id) => {
        const key = { source, id };
        const hash = keyHash(source, id);
        const first =
          group === undefined
            ? this.#window
                .candidates(hash)
                .reduce<FirstCopy | undefined>(
                  (found, position) => found ?? this.#confirm(position, key),
                  undefined,
                )
            : this.#firstCopy(group, key, hash);
        return first === undefined ? undefined : { id, source, ...first, duplicate: true };
      },
      appendInGroup: (group, json, stream) => {
        const event = decodeEvent(json);
        const prepared = [
          { event, stream, json, hash: keyHash(event.source, event.id), links: linkKeys(event) },
        ];
        try {
          return this.#applyAppend(group, prepared, stream, "any")[0];
        } catch (error) {
          // Its stream was deleted while it waited: the event is dropped (it cannot be appended).
          if (error instanceof StreamDeletedError) return undefined;
          throw error;
        }
      },
    });
    this.#retention = new SqliteRetention(db, {
      enqueue,
      checkOpen,
      positionAtTime: (time) => this.#positionAtTime(time),
      catalog: this.#catalog,
      index: this.#index,
      streamState: (stream) => this.#committedStream(stream),
      batchSize: options.retentionBatchSize ?? 500,
      intervalMs: options.retentionIntervalMs ?? 60_000,
    });
    this.#checkpointer = inWorker
      ? new BackgroundCheckpoint(db, options.path, durability, checkpointFrames)
      : undefined;
  }

  async identity(): Promise<LogIdentity> {
    this.#checkOpen();
    return this.#identity;
  }

  async append(events: readonly CloudEvent[], options?: AppendOptions): Promise<readonly AppendResult[]> {
    this.#checkOpen();
    const { stream: named, expected } = checkAppendArguments(events, options);
    if (events.length === 0) return [];
    // Encode here, in the caller's turn, so the group commit only writes.
    const prepared: PreparedEvent[] = events.map((event) => ({
      event,
      stream: named ?? deriveStream(event),
      json: encodeEvent(event),
      hash: keyHash(event.source, event.id),
      links: linkKeys(event),
    }));
    return this.#writer.enqueue(
      (group) => this.#applyAppend(group, prepared, named, expected),
      prepared.length,
    );
  }

  #applyAppend(
    group: WriteGroup,
    prepared: readonly PreparedEvent[],
    named: string | undefined,
    expected: ExpectedVersion,
  ): AppendResult[] {
    const results: AppendResult[] = [];
    const versions = new Map<string, number>();
    /** Indexes of the events this append stores, and the same by hash (duplicates inside the batch). */
    const fresh: number[] = [];
    const freshByHash = new Map<number, number[]>();
    let position = group.head;
    prepared.forEach(({ event, stream, hash }, index) => {
      const first =
        this.#firstCopy(group, event, hash) ?? firstInBatch(prepared, results, freshByHash, index);
      if (first !== undefined) {
        results.push(duplicateOf(event, first));
        return;
      }
      let version = versions.get(stream);
      if (version === undefined) {
        const state = group.stream(stream);
        if (state?.deleted) throw new StreamDeletedError(stream);
        version = state?.version ?? -1;
      }
      version += 1;
      position += 1;
      versions.set(stream, version);
      results.push({ id: event.id, source: event.source, position, stream, version, duplicate: false });
      fresh.push(index);
      const same = freshByHash.get(hash);
      if (same === undefined) freshByHash.set(hash, [index]);
      else same.push(index);
    });
    // An append whose events are all already stored is an idempotent retry: no version check.
    if (fresh.length === 0) return results;
    if (named !== undefined) {
      const state = group.stream(named);
      if (!expectationMet(expected, state)) {
        // Past the duplicate window, a retried expected-version append is recognised exactly: its
        // events sit at the versions it expected.
        const retry = this.#storedRetry(prepared, named, expected);
        if (retry !== undefined) return retry;
        throw new VersionConflictError(named, expected, actualVersion(state));
      }
    }
    for (const index of fresh) {
      const { event, json, links } = prepared[index]!;
      const result = results[index]!;
      this.#insert.run(result.position, result.stream, result.version, event.type, group.recordedAt, json);
      if (links !== undefined) for (const key of links) this.#insertLink.run(key, result.position);
    }
    for (const index of fresh) group.indexChanges.push(results[index]!);
    group.addKeys(fresh.map((index) => prepared[index]!.hash));
    for (const [stream, version] of versions) group.setStream(stream, { version, deleted: false });
    group.head = position;
    return results;
  }

  /** The stored first copy of source+id among the window's positions and this group's, if any. */
  #firstCopy(group: WriteGroup, event: { source: string; id: string }, hash: number): FirstCopy | undefined {
    for (const position of this.#window.candidates(hash)) {
      const first = this.#confirm(position, event);
      if (first !== undefined) return first;
    }
    for (const position of group.positionsWithKey(hash) ?? []) {
      const first = this.#confirm(position, event);
      if (first !== undefined) return first;
    }
    return undefined;
  }

  /** The exact check behind a hash match: is the event at `position` this source+id? */
  #confirm(position: number, event: { source: string; id: string }): FirstCopy | undefined {
    const row = this.#eventAt.get(position);
    if (row === undefined) return undefined; // deleted since (retention, stream deletion)
    const stored = JSON.parse(row[2]) as { source?: unknown; id?: unknown };
    if (stored.source !== event.source || stored.id !== event.id) return undefined;
    return { position, stream: row[0], version: row[1] };
  }

  /**
   * When an append to `stream` expecting version e (no-stream: -1) fails its check, is it the retry
   * of an append that succeeded? Then its events are stored at versions e+1, e+2 … in order.
   */
  #storedRetry(
    prepared: readonly PreparedEvent[],
    stream: string,
    expected: ExpectedVersion,
  ): AppendResult[] | undefined {
    if (typeof expected !== "number" && expected !== "no-stream") return undefined;
    let version = expected === "no-stream" ? -1 : expected;
    const results: AppendResult[] = [];
    const seen = new Map<string, AppendResult>();
    for (const { event } of prepared) {
      const key = `${event.source}\u0000${event.id}`;
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        results.push(earlier);
        continue;
      }
      version += 1;
      const row = this.#index.eventAt(stream, version);
      if (row === undefined) return undefined;
      const stored = JSON.parse(row[4]) as { source?: unknown; id?: unknown };
      if (stored.source !== event.source || stored.id !== event.id) return undefined;
      const result = duplicateOf(event, { position: row[0], stream, version });
      seen.set(key, result);
      results.push(result);
    }
    return results;
  }

  /** Inside the group's transaction: its hashes go to dedupe_keys; rows out of the window go. */
  #storeKeys(group: WriteGroup): void {
    const keys = group.keys;
    if (keys.length === 0) return;
    for (let offset = 0; offset < keys.length; offset += KEY_ROW) {
      this.#insertKeys.run(group.start + 1 + offset, packHashes(keys, offset, KEY_ROW));
    }
    this.#pruneKeys.run(group.head - this.#window.size + 1 - KEY_ROW);
  }

  async read(options?: ReadOptions): Promise<ReadPage> {
    this.#checkOpen();
    const { after, limit, scanLimit } = checkReadOptions(options);
    return this.#readPage(after, limit, options?.filter, scanLimit);
  }

  /** The newest durable position: what readers may see (the writer's head may be ahead of it). */
  get #durableHead(): number {
    return this.#signal.head;
  }

  #readPage(after: number, limit: number, filter: EventPredicate | undefined, scanLimit: number): ReadPage {
    const head = this.#durableHead;
    if (filter === undefined) {
      const rows = this.#readAfter.all(after, head, limit);
      const events = rows.map(toStored);
      const last = events[events.length - 1];
      if (rows.length < limit || last === undefined) return { events, next: Math.max(after, head) };
      return { events, next: last.position };
    }
    const events: StoredEvent[] = [];
    let cursor = after;
    let scanned = 0;
    for (;;) {
      const chunk = Math.min(FILTER_CHUNK, scanLimit - scanned);
      const rows = this.#readAfter.all(cursor, head, chunk);
      for (const row of rows) {
        const stored = toStored(row);
        cursor = stored.position;
        scanned += 1;
        if (filter(stored)) {
          events.push(stored);
          if (events.length >= limit) return { events, next: cursor };
        }
      }
      if (rows.length < chunk) return { events, next: Math.max(after, head) };
      if (scanned >= scanLimit) return { events, next: cursor };
    }
  }

  async readLinked(attribute: LinkAttribute, value: string, options?: ReadLinkedOptions): Promise<ReadPage> {
    this.#checkOpen();
    const { key, after, limit } = checkLinkedRead(attribute, value, options);
    const { events, next } = this.#linkedPage(key, after, limit, this.#durableHead);
    return { events, next };
  }

  #linkedPage(
    key: string,
    after: number,
    limit: number,
    head: number,
  ): { events: StoredEvent[]; next: number; done: boolean } {
    const rows = this.#readLinked.all(key, after, head, limit);
    const events: StoredEvent[] = [];
    for (const row of rows) if (row[4] !== null) events.push(toStored(row as EventRow));
    if (rows.length < limit) return { events, next: Math.max(after, head), done: true };
    return { events, next: rows[rows.length - 1]![0], done: false };
  }

  async findEvent(source: string, id: string): Promise<StoredEvent | undefined> {
    this.#checkOpen();
    const head = this.#durableHead;
    const wanted = { source, id } as CloudEvent;
    for (const position of this.#window.candidates(keyHash(source, id))) {
      if (position > head || this.#confirm(position, wanted) === undefined) continue;
      const row = this.#rowAt.get(position);
      if (row !== undefined) return toStored(row);
    }
    // Older than the window: the lineage index holds the linked events by id.
    const key = linkKey("id", id);
    let after = 0;
    for (;;) {
      const page = this.#linkedPage(key, after, 100, head);
      for (const stored of page.events) if (stored.event.source === source) return stored;
      if (page.done) return undefined;
      after = page.next;
    }
  }

  async readStream(stream: string, options?: ReadStreamOptions): Promise<readonly StoredEvent[]> {
    this.#checkOpen();
    checkStreamName(stream);
    const { from, limit, backwards } = checkReadStreamOptions(options);
    const state = this.#durableStream(stream);
    if (state === undefined) return [];
    if (state.deleted) throw new StreamDeletedError(stream);
    const head = this.#durableHead;
    return this.#index
      .read(stream, backwards ? (from ?? state.version) : (from ?? 0), limit, backwards, head)
      .map(toStored);
  }

  async streamInfo(stream: string): Promise<StreamInfo | undefined> {
    this.#checkOpen();
    checkStreamName(stream);
    const state = this.#durableStream(stream);
    return state === undefined ? undefined : { stream, version: state.version, deleted: state.deleted };
  }

  async listStreams(options?: ListStreamsOptions): Promise<readonly StreamInfo[]> {
    this.#checkOpen();
    const { limit } = checkListStreamsOptions(options);
    const names = this.#catalog.names(options?.prefix ?? "", options?.after, limit);
    const infos: StreamInfo[] = [];
    for (const stream of names) {
      // A stream whose first events are not durable yet is not listed yet.
      const state = this.#durableStream(stream);
      if (state !== undefined) infos.push({ stream, version: state.version, deleted: state.deleted });
    }
    return infos;
  }

  async headPosition(): Promise<number> {
    this.#checkOpen();
    return this.#durableHead;
  }

  async positionAtTime(time: number): Promise<number> {
    this.#checkOpen();
    return this.#positionAtTime(time, this.#durableHead);
  }

  /** Binary search over positions up to head: recorded_at never decreases as positions grow. */
  #positionAtTime(time: number, head = this.#writer.head): number {
    let low = 1;
    let high = head + 1;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const row = this.#firstAtOrAfter.get(mid);
      if (row === undefined || row[1] >= time) high = mid;
      else low = row[0] + 1;
    }
    return Math.min(this.#firstAtOrAfter.get(low)?.[0] ?? head + 1, head + 1);
  }

  subscribe(options: SubscribeOptions): LogSubscription {
    this.#checkOpen();
    checkNonNegativeInteger("after", options.after);
    return new CatchUpSubscription(
      async (after, limit, filter, scanLimit) => {
        this.#checkOpen();
        return this.#readPage(after, limit, filter, scanLimit);
      },
      this.#signal,
      options,
    );
  }

  async deleteStream(stream: string, options?: DeleteStreamOptions): Promise<void> {
    this.#checkOpen();
    checkStreamName(stream);
    const expected = options?.expectedVersion ?? "any";
    checkExpectedVersion(expected);
    const hard = options?.hard ?? false;
    await this.#writer.enqueue((group) => {
      const state = group.stream(stream);
      if (state?.deleted && !hard) throw new StreamDeletedError(stream);
      checkExpectation(stream, expected, state);
      if (hard && state === undefined) return;
      let removed = 0;
      for (const position of this.#index.positionsOf(stream, group.indexChanges))
        removed += this.#deleteEvent.run(position).changes;
      group.indexChanges.push(this.#index.forget(stream));
      if (hard) {
        if (removed > 0) group.removedEvents = true;
        group.forgetStream(stream);
        return;
      }
      group.setStream(stream, { version: state?.version ?? -1, deleted: true }, true);
      group.removedEvents = true;
    });
  }

  async deleteEvents(positions: readonly number[]): Promise<number> {
    this.#checkOpen();
    checkPositions(positions);
    if (positions.length === 0) return 0;
    return this.#retention.deletePositions(positions);
  }

  setRetention(policies: readonly RetentionPolicy[]): void {
    this.#checkOpen();
    checkRetentionPolicies(policies);
    this.#retention.setPolicies(policies);
  }

  async runRetention(): Promise<RetentionReport> {
    this.#checkOpen();
    return this.#retention.run();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#retention.stop();
    try {
      await this.#writer.close();
    } catch {
      // A failed sync already failed the writes; closing goes on.
    }
    this.#signal.close();
    try {
      if (this.#checkpointer !== undefined) {
        await this.#checkpointer.stop();
        // With the worker's connection gone, copy everything and leave an empty WAL behind.
        this.#db.pragma("wal_checkpoint(TRUNCATE)");
      }
    } finally {
      this.#walSync?.close();
      this.#db.close();
      this.#lock?.close();
    }
  }

  /** A stream's committed state, from the cache or the database. */
  #committedStream(stream: string): StreamState | undefined {
    const cached = this.#streamCache.get(stream);
    if (cached !== undefined) return cached ?? undefined;
    const state = this.#lookupStream(stream);
    if (this.#streamCache.size >= STREAM_CACHE_SIZE) this.#streamCache.clear();
    this.#streamCache.set(stream, state ?? null);
    return state;
  }

  /** A stream's state as readers may see it: before the oldest group not yet durable that changed it. */
  #durableStream(stream: string): StreamState | undefined {
    for (const before of this.#undurable) if (before.has(stream)) return before.get(stream);
    return this.#committedStream(stream);
  }

  #lookupStream(stream: string): StreamState | undefined {
    return this.#catalog.state(stream);
  }

  #checkOpen(): void {
    if (this.#closed) throw new LogClosedError();
  }
}

function duplicateOf(event: CloudEvent, first: FirstCopy): AppendResult {
  return duplicateResult(event, first.position, first.stream, first.version);
}

/** An event stored earlier in the same batch with the same source+id. */
function firstInBatch(
  prepared: readonly PreparedEvent[],
  results: readonly AppendResult[],
  freshByHash: ReadonlyMap<number, readonly number[]>,
  index: number,
): FirstCopy | undefined {
  const { event, hash } = prepared[index]!;
  for (const earlier of freshByHash.get(hash) ?? []) {
    const other = prepared[earlier]!.event;
    if (other.source === event.source && other.id === event.id) return results[earlier];
  }
  return undefined;
}

/** The duplicate window of the newest `size` positions, from dedupe_keys. */
function loadWindow(db: Database.Database, head: number, size: number): DedupeWindow {
  const window = new DedupeWindow(size);
  const first = Math.max(1, head - size + 1);
  if (head < first) return window;
  // Positions with no stored hash (a deleted tail) get 0: a candidate that no event confirms.
  const hashes = new Int32Array(head - first + 1);
  const rows = db
    .prepare<[number], [number, Buffer]>(
      "SELECT first_position, hashes FROM dedupe_keys WHERE first_position >= ? ORDER BY first_position",
    )
    .raw(true)
    .iterate(first - KEY_ROW);
  for (const [position, blob] of rows) {
    for (let i = 0; i < blob.length / 4; i++) {
      const at = position + i - first;
      if (at >= 0 && at < hashes.length) hashes[at] = blob.readInt32LE(i * 4);
    }
  }
  window.add(first, hashes);
  return window;
}
