// The SQLite backend (better-sqlite3, WAL). One connection, one writer: every write goes through
// the group commit (group-commit.ts), so an append resolves only after the COMMIT that holds it,
// which with durability "full" fsyncs the WAL. Reads run on the same connection between flushes;
// since a flush is synchronous, readers only ever see committed data. WAL checkpoints run inside
// the committing append by default; with checkpoint: "background" they run in a worker thread on a
// second connection (background-checkpoint.ts), never inside a commit.
import type { CloudEvent } from "@herald/cloudevents";
import Database from "better-sqlite3";
import {
  checkAppendArguments,
  checkExpectedVersion,
  checkListStreamsOptions,
  checkNonNegativeInteger,
  checkReadOptions,
  checkReadStreamOptions,
  checkRetentionPolicies,
  checkStreamName,
  type StreamState,
} from "../append-rules.js";
import { checkAppendExpectation, checkExpectation, duplicateResult } from "../dedupe.js";
import { LogClosedError, LogInputError, LogLockedError, StreamDeletedError } from "../errors.js";
import { encodeEvent } from "../event-codec.js";
import type {
  AppendOptions,
  AppendResult,
  EventLog,
  EventPredicate,
  ExpectedVersion,
  ListStreamsOptions,
  LogSubscription,
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
import { LazyStoredEvent } from "../stored-event.js";
import { deriveStream } from "../stream-name.js";
import { CatchUpSubscription } from "../subscription.js";
import { BackgroundCheckpoint, DEFAULT_CHECKPOINT_FRAMES } from "./background-checkpoint.js";
import { GroupCommit } from "./group-commit.js";
import { acquireOwnerLock } from "./owner-lock.js";
import { applySchema, type CheckpointMode, configureConnection, type Durability } from "./schema.js";
import { SqliteRetention } from "./sqlite-retention.js";
import { SqliteCheckpoints, SqliteMetadata } from "./sqlite-stores.js";
import { StreamCatalog } from "./stream-catalog.js";
import type { WriteGroup } from "./write-group.js";

export interface SqliteLogOptions {
  /** Database file; created when missing. ":memory:" works too (nothing durable then). */
  readonly path: string;
  /** "full" (default): fsync of the WAL at every group commit. "normal": no fsync at commit (survives process crashes, not power loss). */
  readonly durability?: Durability;
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
}

/** Opens (or creates) a SQLite log. Synchronous: the log is ready when this returns. */
export function openSqliteLog(options: SqliteLogOptions): EventLog {
  return new SqliteEventLog(options);
}

/** [position, stream, version, recorded_at, json] */
type EventRow = [number, string, number, number, string];
/** [position, stream, version] */
type KeyRow = [number, string, number];

interface PreparedEvent {
  readonly event: CloudEvent;
  readonly stream: string;
  readonly json: string;
}

const FILTER_CHUNK = 512;
/** Stream states the writer keeps in memory (it is the only writer, so they stay exact). */
const STREAM_CACHE_SIZE = 100_000;
/** How long open waits for another connection to release the database. */
const OPEN_TIMEOUT_MS = 2000;

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
  readonly #writer: GroupCommit;
  /** Committed stream states by name (null = no such stream); saves a SELECT per stream per group. */
  readonly #streamCache = new Map<string, StreamState | null>();
  #closed = false;

  readonly #insert: Database.Statement<[number, string, number, string, string, string, number, string]>;
  readonly #findByKey: Database.Statement<[string, string], KeyRow>;
  readonly #catalog: StreamCatalog;
  readonly #readAfter: Database.Statement<[number, number], EventRow>;
  readonly #readStreamForwards: Database.Statement<[string, number, number], EventRow>;
  readonly #readStreamBackwards: Database.Statement<[string, number, number], EventRow>;
  readonly #deleteStreamEvents: Database.Statement<[string]>;
  readonly #firstAtOrAfter: Database.Statement<[number], [number, number]>;

  constructor(options: SqliteLogOptions) {
    const durability = options.durability ?? "full";
    if (durability !== "full" && durability !== "normal")
      throw new LogInputError(`durability must be "full" or "normal", got ${String(durability)}`);
    if (typeof options.path !== "string" || options.path === "")
      throw new LogInputError("path must name the database file");
    const checkpointFrames = options.checkpointFrames ?? DEFAULT_CHECKPOINT_FRAMES;
    if (!Number.isSafeInteger(checkpointFrames) || checkpointFrames < 1)
      throw new LogInputError(`checkpointFrames must be a positive integer, got ${String(checkpointFrames)}`);
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
      configureConnection(db, durability, inWorker, checkpointFrames);
      applySchema(db);
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
      `INSERT INTO events (position, stream, version, source, id, type, recorded_at, json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id, source) DO NOTHING`,
    );
    this.#findByKey = db
      .prepare<[string, string], KeyRow>(
        "SELECT position, stream, version FROM events WHERE source = ? AND id = ?",
      )
      .raw(true);
    this.#catalog = new StreamCatalog(db);
    const columns = "position, stream, version, recorded_at, json";
    this.#readAfter = db
      .prepare<[number, number], EventRow>(
        `SELECT ${columns} FROM events WHERE position > ? ORDER BY position LIMIT ?`,
      )
      .raw(true);
    this.#readStreamForwards = db
      .prepare<[string, number, number], EventRow>(
        `SELECT ${columns} FROM events WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?`,
      )
      .raw(true);
    this.#readStreamBackwards = db
      .prepare<[string, number, number], EventRow>(
        `SELECT ${columns} FROM events WHERE stream = ? AND version <= ? ORDER BY version DESC LIMIT ?`,
      )
      .raw(true);
    this.#deleteStreamEvents = db.prepare("DELETE FROM events WHERE stream = ?");
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
    const signal = new HeadSignal(head);
    this.#signal = signal;
    this.#writer = new GroupCommit(db, {
      head,
      lastRecordedAt,
      lookupStream: (stream) => this.#committedStream(stream),
      onCommit: (committed, changed) => {
        for (const [stream, state] of changed) this.#streamCache.set(stream, state);
        signal.advance(committed);
      },
    });

    const enqueue = <T>(apply: (group: WriteGroup) => T): Promise<T> => this.#writer.enqueue(apply);
    const checkOpen = (): void => this.#checkOpen();
    this.checkpoints = new SqliteCheckpoints(db, enqueue, checkOpen);
    this.metadata = new SqliteMetadata(db, enqueue, checkOpen);
    this.#retention = new SqliteRetention(db, {
      enqueue,
      checkOpen,
      positionAtTime: (time) => this.#positionAtTime(time),
      catalog: this.#catalog,
      streamState: (stream) => this.#committedStream(stream),
      batchSize: options.retentionBatchSize ?? 500,
      intervalMs: options.retentionIntervalMs ?? 60_000,
    });
    this.#checkpointer = inWorker
      ? new BackgroundCheckpoint(db, options.path, durability, checkpointFrames)
      : undefined;
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
    let position = group.head;
    let fresh = 0;
    for (const { event, stream, json } of prepared) {
      let version = versions.get(stream);
      if (version === undefined) {
        const state = group.stream(stream);
        if (state?.deleted) {
          const first = this.#findByKey.get(event.source, event.id);
          if (first === undefined) throw new StreamDeletedError(stream);
          results.push(duplicateOf(event, first));
          continue;
        }
        version = state?.version ?? -1;
      }
      version += 1;
      const { changes } = this.#insert.run(
        position + 1,
        stream,
        version,
        event.source,
        event.id,
        event.type,
        group.recordedAt,
        json,
      );
      if (changes === 1) {
        position += 1;
        fresh += 1;
        versions.set(stream, version);
        results.push({ id: event.id, source: event.source, position, stream, version, duplicate: false });
      } else {
        // source+id is already in the log (or earlier in this group): answer with the first copy.
        results.push(duplicateOf(event, this.#findByKey.get(event.source, event.id)!));
      }
    }
    // An append whose events are all already stored is an idempotent retry: no version check.
    checkAppendExpectation(named, expected, (stream) => group.stream(stream), fresh);
    for (const [stream, version] of versions) group.setStream(stream, { version, deleted: false });
    group.head = position;
    return results;
  }

  async read(options?: ReadOptions): Promise<ReadPage> {
    this.#checkOpen();
    const { after, limit, scanLimit } = checkReadOptions(options);
    return this.#readPage(after, limit, options?.filter, scanLimit);
  }

  #readPage(after: number, limit: number, filter: EventPredicate | undefined, scanLimit: number): ReadPage {
    if (filter === undefined) {
      const rows = this.#readAfter.all(after, limit);
      const events = rows.map(toStored);
      const last = events[events.length - 1];
      if (rows.length < limit || last === undefined)
        return { events, next: Math.max(after, this.#writer.head) };
      return { events, next: last.position };
    }
    const events: StoredEvent[] = [];
    let cursor = after;
    let scanned = 0;
    for (;;) {
      const chunk = Math.min(FILTER_CHUNK, scanLimit - scanned);
      const rows = this.#readAfter.all(cursor, chunk);
      for (const row of rows) {
        const stored = toStored(row);
        cursor = stored.position;
        scanned += 1;
        if (filter(stored)) {
          events.push(stored);
          if (events.length >= limit) return { events, next: cursor };
        }
      }
      if (rows.length < chunk) return { events, next: Math.max(after, this.#writer.head) };
      if (scanned >= scanLimit) return { events, next: cursor };
    }
  }

  async readStream(stream: string, options?: ReadStreamOptions): Promise<readonly StoredEvent[]> {
    this.#checkOpen();
    checkStreamName(stream);
    const { from, limit, backwards } = checkReadStreamOptions(options);
    const state = this.#committedStream(stream);
    if (state === undefined) return [];
    if (state.deleted) throw new StreamDeletedError(stream);
    const rows = backwards
      ? this.#readStreamBackwards.all(stream, from ?? state.version, limit)
      : this.#readStreamForwards.all(stream, from ?? 0, limit);
    return rows.map(toStored);
  }

  async streamInfo(stream: string): Promise<StreamInfo | undefined> {
    this.#checkOpen();
    checkStreamName(stream);
    const state = this.#committedStream(stream);
    return state === undefined ? undefined : { stream, version: state.version, deleted: state.deleted };
  }

  async listStreams(options?: ListStreamsOptions): Promise<readonly StreamInfo[]> {
    this.#checkOpen();
    const { limit } = checkListStreamsOptions(options);
    const names = this.#catalog.names(options?.prefix ?? "", options?.after, limit);
    return names.map((stream) => {
      const state = this.#committedStream(stream)!;
      return { stream, version: state.version, deleted: state.deleted };
    });
  }

  async headPosition(): Promise<number> {
    this.#checkOpen();
    return this.#writer.head;
  }

  async positionAtTime(time: number): Promise<number> {
    this.#checkOpen();
    return this.#positionAtTime(time);
  }

  /** Binary search over positions: recorded_at never decreases as positions grow. */
  #positionAtTime(time: number): number {
    let low = 1;
    let high = this.#writer.head + 1;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const row = this.#firstAtOrAfter.get(mid);
      if (row === undefined || row[1] >= time) high = mid;
      else low = row[0] + 1;
    }
    return this.#firstAtOrAfter.get(low)?.[0] ?? this.#writer.head + 1;
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

  async deleteStream(
    stream: string,
    options?: { readonly expectedVersion?: ExpectedVersion },
  ): Promise<void> {
    this.#checkOpen();
    checkStreamName(stream);
    const expected = options?.expectedVersion ?? "any";
    checkExpectedVersion(expected);
    await this.#writer.enqueue((group) => {
      const state = group.stream(stream);
      if (state?.deleted) throw new StreamDeletedError(stream);
      checkExpectation(stream, expected, state);
      this.#deleteStreamEvents.run(stream);
      group.setStream(stream, { version: state?.version ?? -1, deleted: true }, true);
      group.removedEvents = true;
    });
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
    this.#writer.close();
    this.#signal.close();
    try {
      if (this.#checkpointer !== undefined) {
        await this.#checkpointer.stop();
        // With the worker's connection gone, copy everything and leave an empty WAL behind.
        this.#db.pragma("wal_checkpoint(TRUNCATE)");
      }
    } finally {
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

  #lookupStream(stream: string): StreamState | undefined {
    return this.#catalog.state(stream);
  }

  #checkOpen(): void {
    if (this.#closed) throw new LogClosedError();
  }
}

function duplicateOf(event: CloudEvent, first: KeyRow): AppendResult {
  return duplicateResult(event, first[0], first[1], first[2]);
}
