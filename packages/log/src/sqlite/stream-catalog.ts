// Where a stream's committed state comes from. A stream's version is the version of its newest
// event (read from the (stream, version) index), so appends never write a per-stream row; the
// streams table only holds what the events cannot tell: tombstones, and the version of a stream
// whose newest events retention removed. The catalog merges both sources.
import type Database from "better-sqlite3";
import type { StreamState } from "../append-rules.js";
import { prefixUpperBound } from "../retention.js";

type Bounds = { after: string; low: string; high: string };
type OpenBounds = { after: string; low: string };

export class StreamCatalog {
  readonly #row: Database.Statement<[string], { version: number; deleted: number }>;
  readonly #newest: Database.Statement<[string], [number]>;
  readonly #nextEventStream: Database.Statement<[Bounds], [string]>;
  readonly #nextEventStreamOpen: Database.Statement<[OpenBounds], [string]>;
  readonly #nextRow: Database.Statement<[Bounds], [string]>;
  readonly #nextRowOpen: Database.Statement<[OpenBounds], [string]>;

  constructor(db: Database.Database) {
    this.#row = db.prepare("SELECT version, deleted FROM streams WHERE name = ?");
    this.#newest = db
      .prepare<[string], [number]>(
        "SELECT version FROM events WHERE stream = ? ORDER BY version DESC LIMIT 1",
      )
      .raw(true);
    const next = (table: string, column: string, bounded: boolean): string =>
      `SELECT ${column} FROM ${table} WHERE ${column} > @after AND ${column} >= @low` +
      (bounded ? ` AND ${column} < @high` : "") +
      ` ORDER BY ${column} LIMIT 1`;
    this.#nextEventStream = db.prepare<[Bounds], [string]>(next("events", "stream", true)).raw(true);
    this.#nextEventStreamOpen = db.prepare<[OpenBounds], [string]>(next("events", "stream", false)).raw(true);
    this.#nextRow = db.prepare<[Bounds], [string]>(next("streams", "name", true)).raw(true);
    this.#nextRowOpen = db.prepare<[OpenBounds], [string]>(next("streams", "name", false)).raw(true);
  }

  /** The committed state of a stream; undefined when it never existed. */
  state(stream: string): StreamState | undefined {
    const row = this.#row.get(stream);
    const newest = this.#newest.get(stream)?.[0];
    if (row === undefined) return newest === undefined ? undefined : { version: newest, deleted: false };
    return { version: Math.max(row.version, newest ?? -1), deleted: row.deleted === 1 };
  }

  /** Stream names in code-unit order, after `after`, starting with `prefix`, at most `limit`. */
  names(prefix: string, after: string | undefined, limit: number): string[] {
    const high = prefix === "" ? undefined : prefixUpperBound(prefix);
    const names: string[] = [];
    // Stream names are never empty, so "" is below every name.
    let cursor = after ?? "";
    while (names.length < limit) {
      const fromEvents = this.#next(this.#nextEventStream, this.#nextEventStreamOpen, cursor, prefix, high);
      const fromRows = this.#next(this.#nextRow, this.#nextRowOpen, cursor, prefix, high);
      const name =
        fromEvents === undefined
          ? fromRows
          : fromRows === undefined || fromEvents < fromRows
            ? fromEvents
            : fromRows;
      if (name === undefined) break;
      names.push(name);
      cursor = name;
    }
    return names;
  }

  #next(
    bounded: Database.Statement<[Bounds], [string]>,
    open: Database.Statement<[OpenBounds], [string]>,
    after: string,
    low: string,
    high: string | undefined,
  ): string | undefined {
    return (high === undefined ? open.get({ after, low }) : bounded.get({ after, low, high }))?.[0];
  }
}
