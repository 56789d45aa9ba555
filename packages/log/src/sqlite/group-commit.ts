// Group commit for the SQLite log. Writes queue up; the first one queued schedules a flush with
// setImmediate, so everything that arrives in the same turn of the event loop joins the group.
// A flush runs ONE transaction for the group, each write inside its own savepoint so a failing
// write is rolled back alone, and settles the writes' promises only after COMMIT returned.
//
// With a `sync` (durability "full", the default), COMMIT only writes the WAL (synchronous=NORMAL)
// and the group waits for a sync of the WAL on the thread pool (wal-sync.ts) before its writes
// settle, so the event loop never waits for the disk: it parses and validates the next requests
// meanwhile. Writes queued while a sync runs commit as ONE group when it ends (then the next sync
// starts), like SQLite's own fsync inside COMMIT made them, but without blocking: committing them
// ahead, one group per turn, measured no faster and cost more CPU per event with a slow disk (more,
// smaller commits rewrite the same index pages into the WAL). Groups settle strictly in commit
// order, each after a sync that started after its COMMIT. A failed sync fails the groups waiting
// and every later write (LogFailedError).
import type Database from "better-sqlite3";
import type { StreamState } from "../append-rules.js";
import { LogClosedError, LogFailedError } from "../errors.js";
import { WriteGroup } from "./write-group.js";

/** A group commit takes queued writes up to this many events; the rest go into the next group. */
const MAX_GROUP_EVENTS = 20_000;

interface PendingWrite {
  /** Events it writes (1 for other writes): bounds how much one group commit does. */
  readonly weight: number;
  readonly apply: (group: WriteGroup) => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  /** The last committed position when the log was opened. */
  readonly head: number;
  /** recorded_at of the newest event, so commit times never go backwards. */
  readonly lastRecordedAt: number;
  readonly lookupStream: (stream: string) => StreamState | undefined;
  /** Called inside the transaction after the group's writes, before COMMIT (a throw fails the whole group). */
  readonly beforeCommit: (group: WriteGroup) => void;
  /** Called after each successful COMMIT, before its writes settle: the writer's own view moves on. */
  readonly onCommit: (group: WriteGroup) => void;
  /** Called when a committed group is durable, after its writes settled: readers may see it. */
  readonly onDurable: (group: WriteGroup) => void;
  /** Makes everything committed so far durable; absent: a COMMIT is as durable as it gets. */
  readonly sync?: () => Promise<void>;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A committed group waiting for its sync. */
interface Committed {
  readonly group: WriteGroup;
  readonly writes: readonly PendingWrite[];
  readonly outcomes: readonly Outcome[];
}

export class GroupCommit {
  readonly #db: Database.Database;
  readonly #options: GroupCommitOptions;
  #head: number;
  #lastRecordedAt: number;
  #queue: PendingWrite[] = [];
  #flushScheduled = false;
  #closed = false;
  /** Committed groups whose sync has not started yet, in commit order. */
  #unsynced: Committed[] = [];
  /** The sync running now, if any. */
  #syncing: Promise<void> | undefined;
  /** Set by a failed sync: every write from then on fails with it. */
  #failure: LogFailedError | undefined;
  readonly #begin: Database.Statement<[]>;
  readonly #commit: Database.Statement<[]>;
  readonly #rollback: Database.Statement<[]>;
  readonly #savepoint: Database.Statement<[]>;
  readonly #release: Database.Statement<[]>;
  readonly #rollbackTo: Database.Statement<[]>;
  readonly #upsertStream: Database.Statement<[string, number, number]>;
  readonly #setHead: Database.Statement<[number]>;
  readonly #forgetStream: Database.Statement<[string]>;

  constructor(db: Database.Database, options: GroupCommitOptions) {
    this.#db = db;
    this.#options = options;
    this.#head = options.head;
    this.#lastRecordedAt = options.lastRecordedAt;
    this.#begin = db.prepare("BEGIN IMMEDIATE");
    this.#commit = db.prepare("COMMIT");
    this.#rollback = db.prepare("ROLLBACK");
    this.#savepoint = db.prepare("SAVEPOINT op");
    this.#release = db.prepare("RELEASE op");
    this.#rollbackTo = db.prepare("ROLLBACK TO op");
    this.#upsertStream = db.prepare(
      `INSERT INTO streams (name, version, deleted) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET version = excluded.version, deleted = excluded.deleted`,
    );
    this.#forgetStream = db.prepare("DELETE FROM streams WHERE name = ?");
    this.#setHead = db.prepare(
      "INSERT INTO log_state (key, value) VALUES ('head', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    );
  }

  /** True once a sync failed: the log takes no more writes. */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /** The last committed position (durable or not: the writer's own view). */
  get head(): number {
    return this.#head;
  }

  /** Queues a write; it runs inside the next group's transaction and settles after its COMMIT. */
  enqueue<T>(apply: (group: WriteGroup) => T, weight = 1): Promise<T> {
    if (this.#closed) return Promise.reject(new LogClosedError());
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ apply, weight, resolve: resolve as (value: unknown) => void, reject });
      this.#scheduleFlush();
    });
  }

  /** Refuses new writes, commits those already queued (they were promised an answer) and waits for their sync. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#queue.length > 0) this.#flush();
    while (this.#syncing !== undefined) await this.#syncing;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    if (this.#syncing !== undefined) return; // flushed when the sync ends
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  /** Takes the next group from the queue: everything queued, up to MAX_GROUP_EVENTS events. */
  #takeGroup(): PendingWrite[] {
    let events = 0;
    let count = 0;
    while (
      count < this.#queue.length &&
      (count === 0 || events + this.#queue[count]!.weight <= MAX_GROUP_EVENTS)
    ) {
      events += this.#queue[count]!.weight;
      count += 1;
    }
    if (count === this.#queue.length) {
      const all = this.#queue;
      this.#queue = [];
      return all;
    }
    return this.#queue.splice(0, count);
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#queue.length === 0) return;
    if (this.#syncing !== undefined && !this.#closed) return; // the sync's end flushes
    const writes = this.#takeGroup();
    // What did not fit waits for the next turn, so one flush never blocks the event loop for long.
    if (this.#queue.length > 0 && !this.#closed) this.#scheduleFlush();
    this.#lastRecordedAt = Math.max(this.#lastRecordedAt, Date.now());
    const group = new WriteGroup(this.#head, this.#lastRecordedAt, this.#options.lookupStream);
    const outcomes: Outcome[] = [];
    try {
      this.#begin.run();
      for (const write of writes) {
        this.#savepoint.run();
        try {
          outcomes.push({ ok: true, value: write.apply(group) });
          this.#release.run();
        } catch (error) {
          this.#rollbackTo.run();
          this.#release.run();
          outcomes.push({ ok: false, error });
        }
      }
      for (const stream of group.streamsToForget()) this.#forgetStream.run(stream);
      for (const [stream, state] of group.streamsToPersist())
        this.#upsertStream.run(stream, state.version, state.deleted ? 1 : 0);
      if (group.removedEvents) this.#setHead.run(group.head);
      this.#options.beforeCommit(group);
      this.#commit.run();
    } catch (error) {
      // The whole group failed (I/O error…): nothing of it is committed, the head stays.
      if (this.#db.inTransaction) this.#rollback.run();
      for (const write of writes) write.reject(error);
      return;
    }
    this.#head = group.head;
    this.#options.onCommit(group);
    const committed: Committed = { group, writes, outcomes };
    if (this.#options.sync === undefined) {
      this.#settle(committed);
      return;
    }
    this.#unsynced.push(committed);
    if (this.#failure !== undefined) this.#fail(this.#failure);
    else if (this.#syncing === undefined) this.#startSync(this.#options.sync);
  }

  /** One sync for every group committed so far; when it ends, the writes queued meanwhile commit. */
  #startSync(sync: () => Promise<void>): void {
    const groups = this.#unsynced;
    this.#unsynced = [];
    const running = sync().then(
      () => {
        for (const committed of groups) this.#settle(committed);
      },
      (error: unknown) => {
        this.#failure = new LogFailedError({ cause: error });
        this.#unsynced = [...groups, ...this.#unsynced];
        this.#fail(this.#failure);
      },
    );
    this.#syncing = running.then(() => {
      this.#syncing = undefined;
      if (this.#failure !== undefined) return;
      if (this.#unsynced.length > 0) this.#startSync(sync);
      else if (this.#queue.length > 0) this.#flush();
    });
  }

  #settle({ group, writes, outcomes }: Committed): void {
    writes.forEach((write, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(outcome.error);
    });
    this.#options.onDurable(group);
  }

  /** Fails the committed groups still waiting, and the queue: none of them can be promised durable. */
  #fail(failure: LogFailedError): void {
    const groups = this.#unsynced;
    this.#unsynced = [];
    for (const { writes } of groups) for (const write of writes) write.reject(failure);
    const queued = this.#queue;
    this.#queue = [];
    for (const write of queued) write.reject(failure);
  }
}
