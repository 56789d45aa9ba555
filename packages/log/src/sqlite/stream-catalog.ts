// Where a stream's committed state comes from. A stream's version is the version of its newest
// event (read from the (stream, version) index), so appends never write a per-stream row; the
// streams table only holds what the events cannot tell: tombstones, and the version of a stream
// whose newest events retention removed. The catalog merges both sources.
import type Database from "better-sqlite3";
import type { StreamState } from "../append-rules.js";
import { prefixUpperBound } from "../retention.js";

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
  readonly #newest: Database.Statement<[string], [number]>;
  readonly #nextStreamAfter: NextName;
  readonly #nextStreamFrom: NextName;
  readonly #nextRowAfter: NextName;
  readonly #nextRowFrom: NextName;

  constructor(db: Database.Database) {
    this.#row = db.prepare("SELECT version, deleted FROM streams WHERE name = ?");
    this.#newest = db
      .prepare<[string], [number]>(
        "SELECT version FROM events WHERE stream = ? ORDER BY version DESC LIMIT 1",
      )
      .raw(true);
    this.#nextStreamAfter = nextNameQuery(db, "events", "stream", false);
    this.#nextStreamFrom = nextNameQuery(db, "events", "stream", true);
    this.#nextRowAfter = nextNameQuery(db, "streams", "name", false);
    this.#nextRowFrom = nextNameQuery(db, "streams", "name", true);
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
    // The first seek starts at the prefix unless `after` lies beyond it; later seeks go past the last name.
    let inclusive = after === undefined || after < prefix;
    let from = inclusive ? prefix : after!;
    while (names.length < limit) {
      const fromEvents = inclusive ? this.#nextStreamFrom(from, high) : this.#nextStreamAfter(from, high);
      const fromRows = inclusive ? this.#nextRowFrom(from, high) : this.#nextRowAfter(from, high);
      const name =
        fromEvents === undefined
          ? fromRows
          : fromRows === undefined || fromEvents < fromRows
            ? fromEvents
            : fromRows;
      if (name === undefined) break;
      names.push(name);
      from = name;
      inclusive = false;
    }
    return names;
  }
}
