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
