// Where a stream's committed state comes from. A stream's version is the version of its newest
// event (from the stream index, stream-index.ts), so appends never write a per-stream row; the
// streams table only holds what the events cannot tell: tombstones, and the version of a stream
// whose newest events retention removed. The catalog merges both sources.
import type Database from "better-sqlite3";
import type { StreamState } from "../append-rules.js";
import { prefixUpperBound } from "../retention.js";
import type { StreamIndex } from "./stream-index.js";

/** A lookup of the next name: after `from` (exclusive or inclusive), below `high` when there is one. */
type NextName = (from: string, high: string | undefined) => string | undefined;

/**
 * Prepares the seeks for the next name of `column` in `table`. One lower bound per statement: given
 * two (`> after AND >= low`), SQLite seeks on one and scans from there, so the caller passes the larger.
 */
function nextNameQuery(db: Database.Database, table: string, column: string, inclusive: boolean): NextName {
  const base = `SELECT ${column} FROM ${table} WHERE ${column} ${inclusive ? ">=" : ">"} @from`;
  const open = db.prepare<[{ from: string }], [string]>(`${base} ORDER BY ${column} LIMIT 1`).raw(true);
  const bounded = db
    .prepare<[{ from: string; high: string }], [string]>(
      `${base} AND ${column} < @high ORDER BY ${column} LIMIT 1`,
    )
    .raw(true);
  return (from, high) => (high === undefined ? open.get({ from }) : bounded.get({ from, high }))?.[0];
}

export class StreamCatalog {
  readonly #row: Database.Statement<[string], { version: number; deleted: number }>;
  readonly #index: StreamIndex;
  readonly #nextStreamAfter: NextName;
  readonly #nextStreamFrom: NextName;
  readonly #nextRowAfter: NextName;
  readonly #nextRowFrom: NextName;

  constructor(db: Database.Database, index: StreamIndex) {
    this.#row = db.prepare("SELECT version, deleted FROM streams WHERE name = ?");
    this.#index = index;
    this.#nextStreamAfter = nextNameQuery(db, "stream_index", "stream", false);
    this.#nextStreamFrom = nextNameQuery(db, "stream_index", "stream", true);
    this.#nextRowAfter = nextNameQuery(db, "streams", "name", false);
    this.#nextRowFrom = nextNameQuery(db, "streams", "name", true);
  }

  /** The committed state of a stream; undefined when it never existed. */
  state(stream: string): StreamState | undefined {
    const row = this.#row.get(stream);
    const newest = this.#index.newest(stream);
    if (row === undefined) return newest === undefined ? undefined : { version: newest, deleted: false };
    return { version: Math.max(row.version, newest ?? -1), deleted: row.deleted === 1 };
  }

  /** Stream names in code-unit order, after `after`, starting with `prefix`, at most `limit`. */
  names(prefix: string, after: string | undefined, limit: number): string[] {
    const high = prefix === "" ? undefined : prefixUpperBound(prefix);
    const names: string[] = [];
    // The first seek starts at the prefix unless `after` lies beyond it; later seeks go past the last name.
    let inclusive = after === undefined || after < prefix;
    let from = inclusive ? prefix : after!;
    while (names.length < limit) {
      const name = first(
        inclusive ? this.#nextStreamFrom(from, high) : this.#nextStreamAfter(from, high),
        this.#index.nextRecentName(from, inclusive, high),
        inclusive ? this.#nextRowFrom(from, high) : this.#nextRowAfter(from, high),
      );
      if (name === undefined) break;
      names.push(name);
      from = name;
      inclusive = false;
    }
    return names;
  }
}

/** The smallest of the names found (code-unit order). */
function first(...names: Array<string | undefined>): string | undefined {
  let smallest: string | undefined;
  for (const name of names)
    if (name !== undefined && (smallest === undefined || name < smallest)) smallest = name;
  return smallest;
}
