// Scheduled delivery in SQLite: the `scheduled` table. Every write goes through the log's group
// commit, so `add` is durable when it resolves, and a release appends the due events and deletes
// their rows in the same transaction (a crash leaves each event either pending or in the log).
import type Database from "better-sqlite3";
import type {
  AppendResult,
  CancelOutcome,
  ListScheduledOptions,
  ScheduledPage,
  ScheduleRequest,
  ScheduleResult,
  ScheduleStore,
} from "../event-log.js";
import { encodeEvent } from "../event-codec.js";
import {
  checkCancelArguments,
  checkListScheduledOptions,
  checkReleaseArguments,
  checkScheduleArguments,
  LazyScheduledEvent,
  planSchedule,
} from "../schedule-rules.js";
import type { WriteGroup } from "./write-group.js";

type Row = [seq: number, source: string, id: string, stream: string, deliverAt: number, json: string];

export interface SqliteScheduleHooks {
  readonly enqueue: <T>(apply: (group: WriteGroup) => T) => Promise<T>;
  readonly checkOpen: () => void;
  /** The first copy of source+id in the log (committed, or earlier in `group`). */
  readonly inLog: (group: WriteGroup | undefined, source: string, id: string) => AppendResult | undefined;
  /** Appends one stored event to `stream` inside `group` (dedupe included); undefined: its stream is deleted. */
  readonly appendInGroup: (group: WriteGroup, json: string, stream: string) => AppendResult | undefined;
}

export class SqliteSchedule implements ScheduleStore {
  readonly #hooks: SqliteScheduleHooks;
  readonly #insert: Database.Statement<[string, string, string, number, string]>;
  readonly #byKey: Database.Statement<[string, string], [string, number]>;
  readonly #due: Database.Statement<[number, number], Row>;
  readonly #delete: Database.Statement<[number]>;
  readonly #deleteKey: Database.Statement<[string, string]>;
  readonly #page: Database.Statement<[number, number], Row>;
  readonly #earliest: Database.Statement<[], [number | null]>;

  constructor(db: Database.Database, hooks: SqliteScheduleHooks) {
    this.#hooks = hooks;
    const columns = "seq, source, id, stream, deliver_at, json";
    this.#insert = db.prepare(
      "INSERT INTO scheduled (source, id, stream, deliver_at, json) VALUES (?, ?, ?, ?, ?)",
    );
    this.#byKey = db
      .prepare<[string, string], [string, number]>(
        "SELECT stream, deliver_at FROM scheduled WHERE source = ? AND id = ?",
      )
      .raw(true);
    this.#due = db
      .prepare<[number, number], Row>(
        `SELECT ${columns} FROM scheduled WHERE deliver_at <= ? ORDER BY deliver_at, seq LIMIT ?`,
      )
      .raw(true);
    this.#delete = db.prepare("DELETE FROM scheduled WHERE seq = ?");
    this.#deleteKey = db.prepare("DELETE FROM scheduled WHERE source = ? AND id = ?");
    this.#page = db
      .prepare<[number, number], Row>(`SELECT ${columns} FROM scheduled WHERE seq > ? ORDER BY seq LIMIT ?`)
      .raw(true);
    this.#earliest = db.prepare<[], [number | null]>("SELECT min(deliver_at) FROM scheduled").raw(true);
  }

  async add(
    requests: readonly ScheduleRequest[],
    options?: { readonly stream?: string },
  ): Promise<readonly ScheduleResult[]> {
    this.#hooks.checkOpen();
    const streams = checkScheduleArguments(requests, options);
    if (requests.length === 0) return [];
    const encoded = requests.map((request) => encodeEvent(request.event));
    return this.#hooks.enqueue((group) => {
      const { results, fresh } = planSchedule(
        requests,
        streams,
        (source, id) => this.#hooks.inLog(group, source, id),
        (source, id) => {
          const row = this.#byKey.get(source, id);
          return row === undefined ? undefined : { stream: row[0], deliverAt: row[1] };
        },
      );
      for (const index of fresh) {
        const { event, deliverAt } = requests[index]!;
        this.#insert.run(event.source, event.id, streams[index]!, deliverAt, encoded[index]!);
      }
      return results;
    });
  }

  async release(now: number, limit?: number): Promise<readonly AppendResult[]> {
    this.#hooks.checkOpen();
    const max = checkReleaseArguments(now, limit);
    return this.#hooks.enqueue((group) => {
      const results: AppendResult[] = [];
      for (const [seq, , , stream, , json] of this.#due.all(now, max)) {
        const result = this.#hooks.appendInGroup(group, json, stream);
        if (result !== undefined) results.push(result);
        this.#delete.run(seq);
      }
      return results;
    });
  }

  async cancel(source: string, id: string): Promise<CancelOutcome> {
    this.#hooks.checkOpen();
    checkCancelArguments(source, id);
    return this.#hooks.enqueue((group) => {
      if (this.#deleteKey.run(source, id).changes > 0) return "cancelled";
      return this.#hooks.inLog(group, source, id) === undefined ? "unknown" : "released";
    });
  }

  async list(options?: ListScheduledOptions): Promise<ScheduledPage> {
    this.#hooks.checkOpen();
    const { after, limit } = checkListScheduledOptions(options);
    const entries = this.#page
      .all(after, limit)
      .map((row) => new LazyScheduledEvent(row[0], row[1], row[2], row[3], row[4], row[5]));
    return { entries, next: entries.length === 0 ? after : entries[entries.length - 1]!.seq };
  }

  async next(): Promise<number | undefined> {
    this.#hooks.checkOpen();
    return this.#earliest.get()?.[0] ?? undefined;
  }
}
