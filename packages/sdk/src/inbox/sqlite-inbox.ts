// A durable inbox in SQLite (better-sqlite3): survives restarts, shareable by processes on one host.
// better-sqlite3 is an optional peer dependency, loaded on first use: services that keep the
// in-memory inbox do not need a native module.
import { createRequire } from "node:module";
import type Database from "better-sqlite3";
import type { ClaimResult, Inbox } from "./inbox.js";

let DatabaseClass: typeof Database | undefined;
function openDatabase(path: string): Database.Database {
  DatabaseClass ??= createRequire(import.meta.url)("better-sqlite3") as typeof Database;
  return new DatabaseClass(path);
}

export interface SqliteInboxOptions {
  /** File path, or ":memory:". */
  readonly path: string;
  readonly now?: () => number;
  /** Expired rows are swept every this many ms (default 60 s). */
  readonly sweepEveryMs?: number;
}

type State = "in-progress" | "done";

export class SqliteInbox implements Inbox {
  readonly #db: Database.Database;
  readonly #now: () => number;
  readonly #select: Database.Statement<[string], { state: State; expires_at: number }>;
  readonly #upsert: Database.Statement<[string, State, number]>;
  readonly #release: Database.Statement<[string]>;
  readonly #sweep: Database.Statement<[number]>;
  readonly #claimTx: (key: string, now: number, leaseMs: number) => ClaimResult;
  readonly #timer: NodeJS.Timeout;

  constructor(options: SqliteInboxOptions) {
    this.#db = openDatabase(options.path);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("busy_timeout = 5000");
    this.#db.exec(
      "CREATE TABLE IF NOT EXISTS herald_inbox (key TEXT PRIMARY KEY, state TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID",
    );
    this.#now = options.now ?? Date.now;
    this.#select = this.#db.prepare("SELECT state, expires_at FROM herald_inbox WHERE key = ?");
    this.#upsert = this.#db.prepare(
      "INSERT INTO herald_inbox (key, state, expires_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET state = excluded.state, expires_at = excluded.expires_at",
    );
    this.#release = this.#db.prepare("DELETE FROM herald_inbox WHERE key = ?");
    this.#sweep = this.#db.prepare("DELETE FROM herald_inbox WHERE expires_at <= ?");
    const tx = this.#db.transaction((key: string, now: number, leaseMs: number): ClaimResult => {
      const row = this.#select.get(key);
      if (row && row.expires_at > now) return row.state;
      this.#upsert.run(key, "in-progress", now + leaseMs);
      return "claimed";
    });
    // IMMEDIATE: take the write lock before reading, so two processes cannot both claim.
    this.#claimTx = (key, now, leaseMs) => tx.immediate(key, now, leaseMs);
    this.#timer = setInterval(() => this.#sweep.run(this.#now()), options.sweepEveryMs ?? 60_000);
    this.#timer.unref();
  }

  async claim(key: string, leaseMs: number): Promise<ClaimResult> {
    return this.#claimTx(key, this.#now(), leaseMs);
  }

  async complete(key: string, ttlMs: number): Promise<void> {
    this.#upsert.run(key, "done", this.#now() + ttlMs);
  }

  async release(key: string): Promise<void> {
    this.#release.run(key);
  }

  /** Deletes expired rows now (also runs on a timer). */
  sweep(): number {
    return this.#sweep.run(this.#now()).changes;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#db.close();
  }
}

/**
 * The inbox inside your own transaction: the record that an event was handled commits, or rolls
 * back, with the handler's (or projection's) own change to the same database, so a redelivered
 * event is skipped exactly once, whatever crashes between.
 */
export interface TransactionalInbox {
  /**
   * Call inside a transaction of the inbox's database. Records `key` as handled and answers true
   * the first time (or once the record expired); false when it was handled: skip the event.
   */
  firstTime(key: string): boolean;
  /** Forgets the keys that start with `prefix` (inside or outside a transaction). */
  forget(prefix: string): number;
  /** Deletes expired records. */
  sweep(): number;
}

export interface TransactionalInboxOptions {
  /** How long a handled event is remembered (default 7 days): longer than any redelivery. */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

/**
 * A transactional inbox on `db` (your better-sqlite3 connection), in table `herald_inbox` (the
 * same table as SqliteInbox's).
 */
export function sqliteInboxIn(
  db: Database.Database,
  options: TransactionalInboxOptions = {},
): TransactionalInbox {
  const ttlMs = options.ttlMs ?? 7 * 24 * 3_600_000;
  const now = options.now ?? Date.now;
  db.exec(
    "CREATE TABLE IF NOT EXISTS herald_inbox (key TEXT PRIMARY KEY, state TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID",
  );
  // A row that is done and alive stops the upsert: no change means "handled already".
  const record = db.prepare<[string, number, number]>(
    `INSERT INTO herald_inbox (key, state, expires_at) VALUES (?, 'done', ?)
     ON CONFLICT(key) DO UPDATE SET state = 'done', expires_at = excluded.expires_at
     WHERE herald_inbox.state <> 'done' OR herald_inbox.expires_at <= ?`,
  );
  const forget = db.prepare<[string, string]>("DELETE FROM herald_inbox WHERE substr(key, 1, length(?)) = ?");
  const sweep = db.prepare<[number]>("DELETE FROM herald_inbox WHERE expires_at <= ?");
  return {
    firstTime(key) {
      if (!db.inTransaction)
        throw new Error("sqliteInboxIn: firstTime() must run inside a transaction of its database");
      const at = now();
      return record.run(key, at + ttlMs, at).changes === 1;
    },
    forget: (prefix) => forget.run(prefix, prefix).changes,
    sweep: () => sweep.run(now()).changes,
  };
}
