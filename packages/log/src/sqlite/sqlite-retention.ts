// Background retention for the SQLite log. It scans with plain reads (between group commits)
// and deletes in small batches, each batch one operation of a group commit, so appends keep
// flowing while it runs. Deleting never touches positions or stream versions.
import type Database from "better-sqlite3";
import type { StreamState } from "../append-rules.js";
import type { RetentionPolicy, RetentionReport } from "../event-log.js";
import { policyCovers } from "../retention.js";
import type { Enqueue } from "./sqlite-stores.js";
import type { StreamCatalog } from "./stream-catalog.js";
import type { StreamIndex } from "./stream-index.js";

export interface RetentionContext {
  readonly enqueue: Enqueue;
  /** Throws LogClosedError once the log is closed (checked before every scan). */
  readonly checkOpen: () => void;
  readonly positionAtTime: (time: number) => number;
  /** Stream names in order (for count policies) and a stream's committed state. */
  readonly catalog: StreamCatalog;
  readonly streamState: (stream: string) => StreamState | undefined;
  /** Where each stream's events are (positions by version). */
  readonly index: StreamIndex;
  readonly batchSize: number;
  readonly intervalMs: number;
}

export class SqliteRetention {
  readonly #context: RetentionContext;
  readonly #scanRange: Database.Statement<[number, number, number], [number, string, string]>;
  readonly #deletePosition: Database.Statement<[number]>;
  readonly #entryAt: Database.Statement<[number], [string, number]>;
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
    this.#deletePosition = db.prepare("DELETE FROM events WHERE position = ?");
    this.#entryAt = db
      .prepare<[number], [string, number]>("SELECT stream, version FROM events WHERE position = ?")
      .raw(true);
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
      if (doomed.length > 0) deleted += await this.deletePositions(doomed);
    }
    if (this.#policies[index] === policy) this.#ageScanned[index] = Math.max(cursor, cutoff);
    return deleted;
  }

  async #applyCount(policy: RetentionPolicy, maxCount: number): Promise<number> {
    const prefix = policy.streamPrefix ?? "";
    const batch = this.#context.batchSize;
    let after: string | undefined;
    let deleted = 0;
    for (;;) {
      this.#context.checkOpen();
      const streams = this.#context.catalog.names(prefix, after, 256);
      if (streams.length === 0) return deleted;
      for (const stream of streams) {
        const state = this.#context.streamState(stream);
        if (state === undefined || state.deleted) continue;
        for (;;) {
          this.#context.checkOpen();
          const { index } = this.#context;
          const positions =
            policy.type === undefined
              ? index.oldest(stream, state.version - maxCount, batch)
              : index.newestOfType(stream, policy.type, maxCount, batch);
          if (positions.length === 0) break;
          deleted += await this.deletePositions(positions);
          if (positions.length < batch) break;
        }
      }
      after = streams[streams.length - 1];
    }
  }

  /** Deletes these positions in one operation of a group commit (stream versions kept). */
  deletePositions(positions: readonly number[]): Promise<number> {
    return this.#context.enqueue((group) => {
      // A stream's version is read back from its newest event: before that event may go, its
      // version is written to the streams table so it is never handed out again.
      const touched = new Map<string, ReturnType<typeof group.stream>>();
      const entries: Array<[string, number]> = [];
      for (const position of positions) {
        const entry = this.#entryAt.get(position);
        if (entry === undefined) continue; // already gone
        entries.push(entry);
        if (!touched.has(entry[0])) touched.set(entry[0], group.stream(entry[0]));
      }
      let changes = 0;
      for (const position of positions) changes += this.#deletePosition.run(position).changes;
      const removals = entries.map(([stream, version]) => this.#context.index.remove(stream, version));
      group.indexChanges.push(...removals);
      if (changes > 0) group.removedEvents = true;
      for (const [stream, state] of touched) if (state !== undefined) group.setStream(stream, state, true);
      return changes;
    });
  }
}
