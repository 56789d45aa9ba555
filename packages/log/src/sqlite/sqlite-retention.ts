// Background retention for the SQLite log. It scans with plain reads (between group commits)
// and deletes in small batches, each batch one operation of a group commit, so appends keep
// flowing while it runs. Deleting never touches positions or stream versions.
import type Database from "better-sqlite3";
import type { RetentionPolicy, RetentionReport } from "../event-log.js";
import { policyCovers, prefixUpperBound } from "../retention.js";
import type { Enqueue } from "./sqlite-stores.js";

export interface RetentionContext {
  readonly enqueue: Enqueue;
  /** Throws LogClosedError once the log is closed (checked before every scan). */
  readonly checkOpen: () => void;
  readonly positionAtTime: (time: number) => number;
  readonly batchSize: number;
  readonly intervalMs: number;
}

export class SqliteRetention {
  readonly #context: RetentionContext;
  readonly #scanRange: Database.Statement<[number, number, number], [number, string, string]>;
  readonly #streamsPage: Database.Statement<
    [{ low: string; high: string | null; after: string; limit: number }],
    [string, number]
  >;
  readonly #oldestBeyondCount: Database.Statement<[string, number, number], [number]>;
  readonly #oldestOfTypeBeyondCount: Database.Statement<[string, string, number, number], [number]>;
  readonly #deletePosition: Database.Statement<[number]>;
  #policies: readonly RetentionPolicy[] = [];
  /** Per policy: positions up to here were already checked against its age limit. */
  #ageScanned: number[] = [];
  #running: Promise<RetentionReport> | undefined;
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(db: Database.Database, context: RetentionContext) {
    this.#context = context;
    this.#scanRange = db
      .prepare<[number, number, number], [number, string, string]>(
        "SELECT position, stream, type FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?",
      )
      .raw(true);
    this.#streamsPage = db
      .prepare<[{ low: string; high: string | null; after: string; limit: number }], [string, number]>(
        `SELECT name, version FROM streams
         WHERE name >= @low AND (@high IS NULL OR name < @high) AND name > @after AND deleted = 0
         ORDER BY name LIMIT @limit`,
      )
      .raw(true);
    this.#oldestBeyondCount = db
      .prepare<[string, number, number], [number]>(
        "SELECT position FROM events WHERE stream = ? AND version <= ? ORDER BY version LIMIT ?",
      )
      .raw(true);
    this.#oldestOfTypeBeyondCount = db
      .prepare<[string, string, number, number], [number]>(
        "SELECT position FROM events WHERE stream = ? AND type = ? ORDER BY version DESC LIMIT ? OFFSET ?",
      )
      .raw(true);
    this.#deletePosition = db.prepare("DELETE FROM events WHERE position = ?");
    if (context.intervalMs > 0) {
      this.#timer = setInterval(() => {
        if (this.#policies.length > 0 && this.#running === undefined) void this.run().catch(() => {});
      }, context.intervalMs);
      this.#timer.unref();
    }
  }

  setPolicies(policies: readonly RetentionPolicy[]): void {
    this.#policies = [...policies];
    this.#ageScanned = policies.map(() => 0);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  /** One pass over every policy; concurrent callers share the pass in progress. */
  run(): Promise<RetentionReport> {
    if (this.#running === undefined) {
      this.#running = this.#pass().finally(() => {
        this.#running = undefined;
      });
    }
    return this.#running;
  }

  async #pass(): Promise<RetentionReport> {
    let deleted = 0;
    const policies = this.#policies;
    for (const [index, policy] of policies.entries()) {
      if (policy.maxAgeMs !== undefined) deleted += await this.#applyAge(policy, index, policy.maxAgeMs);
      if (policy.maxCount !== undefined) deleted += await this.#applyCount(policy, policy.maxCount);
    }
    return { deleted };
  }

  async #applyAge(policy: RetentionPolicy, index: number, maxAgeMs: number): Promise<number> {
    this.#context.checkOpen();
    const cutoff = this.#context.positionAtTime(Date.now() - maxAgeMs) - 1;
    let cursor = this.#ageScanned[index] ?? 0;
    let deleted = 0;
    while (cursor < cutoff) {
      this.#context.checkOpen();
      const rows = this.#scanRange.all(cursor, cutoff, this.#context.batchSize);
      if (rows.length === 0) break;
      cursor = rows[rows.length - 1]![0];
      const doomed = rows.filter(([, stream, type]) => policyCovers(policy, stream, type)).map(([p]) => p);
      if (doomed.length > 0) deleted += await this.#delete(doomed);
    }
    if (this.#policies[index] === policy) this.#ageScanned[index] = Math.max(cursor, cutoff);
    return deleted;
  }

  async #applyCount(policy: RetentionPolicy, maxCount: number): Promise<number> {
    const prefix = policy.streamPrefix ?? "";
    const high = prefix === "" ? null : (prefixUpperBound(prefix) ?? null);
    const batch = this.#context.batchSize;
    let after = "";
    let deleted = 0;
    for (;;) {
      this.#context.checkOpen();
      const streams = this.#streamsPage.all({ low: prefix, high, after, limit: 256 });
      if (streams.length === 0) return deleted;
      for (const [stream, version] of streams) {
        for (;;) {
          this.#context.checkOpen();
          const rows =
            policy.type === undefined
              ? this.#oldestBeyondCount.all(stream, version - maxCount, batch)
              : this.#oldestOfTypeBeyondCount.all(stream, policy.type, batch, maxCount);
          if (rows.length === 0) break;
          deleted += await this.#delete(rows.map(([position]) => position));
          if (rows.length < batch) break;
        }
      }
      after = streams[streams.length - 1]![0];
    }
  }

  #delete(positions: readonly number[]): Promise<number> {
    return this.#context.enqueue((group) => {
      let changes = 0;
      for (const position of positions) changes += this.#deletePosition.run(position).changes;
      if (changes > 0) group.removedEvents = true;
      return changes;
    });
  }
}
