// Where each stream's events are: (stream, version) → position, in two tiers, so an append never
// writes a random page of a big index. Kept per event in a B-tree, 1 000 events spread over 10 000
// streams dirtied ~1 000 index pages per commit (~4 KB of WAL per event), whatever the log's size.
//
// - On disk, `stream_index` holds every event at or below a watermark (`through`).
// - In memory, `#recent` holds the events above it, per stream, as runs of consecutive versions.
//   It is rebuilt at open from the events table (the positions above the watermark), so losing it
//   in a crash loses nothing.
// - When the events above the watermark reach `mergeLag`, a merge round moves them to disk in the
//   order of the index (stream, version): a stream's entries land on the same few leaf pages, so a
//   round dirties about one page per stream instead of one per event. A round is cut into steps of
//   ~`mergeStep` entries, each its own short transaction between group commits, in stream-name
//   order; `stream_index_state` records how far the round got (`round_end`, `round_after`), so a
//   crash mid-round resumes without duplicating or losing an entry.
//
// Invariant: for every stream, the versions on disk are all below the versions in memory (a round
// moves a prefix of each run). Reads take disk first, then memory (reversed when backwards).
// Changes made inside a group commit (appends, deletions) reach the memory tier only when the group
// commits (apply()), in the order the group's operations made them; a rolled-back operation records
// none. Merge steps never run inside a group: a flush is synchronous, steps run in their own turn.
import type Database from "better-sqlite3";

/** [position, stream, version, recorded_at, json] */
export type EventRow = [number, string, number, number, string];

/** What a group's operations changed in the index, applied to the memory tier at commit. */
export type IndexChange =
  | { readonly stream: string; readonly version: number; readonly position: number }
  | { readonly kind: "forget"; readonly stream: string }
  | { readonly kind: "remove"; readonly stream: string; readonly version: number };

/** A stream's events above the watermark: version firstVersion + i is at positions[i] (HOLE: deleted). */
interface Run {
  firstVersion: number;
  positions: number[];
}

/** Positions start at 1, so 0 marks an event retention or deletion removed from a run. */
const HOLE = 0;

export interface StreamIndexOptions {
  /** Events above the watermark that start a merge round. */
  readonly mergeLag: number;
  /** Entries per merge step (a step always takes whole streams). */
  readonly mergeStep: number;
  /** The writer's last committed position: a round covers up to it. */
  readonly committedHead: () => number;
  /** False once the log is closed or failed: no more merge steps. */
  readonly writable: () => boolean;
}

export const DEFAULT_MERGE_LAG = 250_000;
export const DEFAULT_MERGE_STEP = 4_096;

/** After a failed merge step (a full disk…), the next try waits this long. */
const MERGE_RETRY_MS = 1_000;

interface RoundState {
  /** The round moves entries at or below this position. */
  readonly end: number;
  /** Streams still to move, in code-unit order. */
  readonly names: readonly string[];
  next: number;
}

export class StreamIndex {
  readonly #db: Database.Database;
  readonly #options: StreamIndexOptions;
  readonly #recent = new Map<string, Run>();
  /** Memory-tier names in order, for listings; undefined when a name came or went since. */
  #sortedNames: string[] | undefined;
  #through: number;
  #round: RoundState | undefined;
  #stepScheduled = false;
  #retryAt = 0;

  readonly #insert: Database.Statement<[string, number, number]>;
  readonly #newestOnDisk: Database.Statement<[string], [number]>;
  readonly #positionOnDisk: Database.Statement<[string, number], [number]>;
  readonly #forwardsOnDisk: Database.Statement<[string, number, number, number], EventRow>;
  readonly #backwardsOnDisk: Database.Statement<[string, number, number, number], EventRow>;
  readonly #positionsOnDisk: Database.Statement<[string], [number]>;
  readonly #oldestOnDisk: Database.Statement<[string, number, number], [number]>;
  readonly #newestOfTypeOnDisk: Database.Statement<[string, string, number, number], [number]>;
  readonly #deleteStream: Database.Statement<[string]>;
  readonly #deleteEntry: Database.Statement<[string, number]>;
  readonly #eventRow: Database.Statement<[number], EventRow>;
  readonly #eventRows: Database.Statement<[string], EventRow>;
  readonly #eventType: Database.Statement<[number], [string]>;
  readonly #saveState: Database.Statement<[number, number, string]>;

  constructor(db: Database.Database, options: StreamIndexOptions) {
    this.#db = db;
    this.#options = options;
    const columns = "e.position, e.stream, e.version, e.recorded_at, e.json";
    const join = "FROM stream_index i JOIN events e ON e.position = i.position";
    this.#insert = db.prepare("INSERT INTO stream_index (stream, version, position) VALUES (?, ?, ?)");
    this.#newestOnDisk = db
      .prepare<[string], [number]>(
        "SELECT version FROM stream_index WHERE stream = ? ORDER BY version DESC LIMIT 1",
      )
      .raw(true);
    this.#positionOnDisk = db
      .prepare<[string, number], [number]>(
        "SELECT position FROM stream_index WHERE stream = ? AND version = ?",
      )
      .raw(true);
    this.#forwardsOnDisk = db
      .prepare<[string, number, number, number], EventRow>(
        `SELECT ${columns} ${join} WHERE i.stream = ? AND i.version >= ? AND i.position <= ? ORDER BY i.version LIMIT ?`,
      )
      .raw(true);
    this.#backwardsOnDisk = db
      .prepare<[string, number, number, number], EventRow>(
        `SELECT ${columns} ${join} WHERE i.stream = ? AND i.version <= ? AND i.position <= ? ORDER BY i.version DESC LIMIT ?`,
      )
      .raw(true);
    this.#positionsOnDisk = db
      .prepare<[string], [number]>("SELECT position FROM stream_index WHERE stream = ?")
      .raw(true);
    this.#oldestOnDisk = db
      .prepare<[string, number, number], [number]>(
        "SELECT position FROM stream_index WHERE stream = ? AND version <= ? ORDER BY version LIMIT ?",
      )
      .raw(true);
    this.#newestOfTypeOnDisk = db
      .prepare<[string, string, number, number], [number]>(
        `SELECT i.position ${join} WHERE i.stream = ? AND e.type = ? ORDER BY i.version DESC LIMIT ? OFFSET ?`,
      )
      .raw(true);
    this.#deleteStream = db.prepare("DELETE FROM stream_index WHERE stream = ?");
    this.#deleteEntry = db.prepare("DELETE FROM stream_index WHERE stream = ? AND version = ?");
    this.#eventRow = db
      .prepare<[number], EventRow>(
        "SELECT position, stream, version, recorded_at, json FROM events WHERE position = ?",
      )
      .raw(true);
    // Many rows by position in one call: the rowid lookups run in SQLite, not one call per event.
    this.#eventRows = db
      .prepare<[string], EventRow>(
        `SELECT position, stream, version, recorded_at, json FROM events
         WHERE position IN (SELECT value FROM json_each(?)) ORDER BY position`,
      )
      .raw(true);
    this.#eventType = db.prepare<[number], [string]>("SELECT type FROM events WHERE position = ?").raw(true);
    this.#saveState = db.prepare(
      "UPDATE stream_index_state SET through = ?, round_end = ?, round_after = ? WHERE id = 1",
    );
    const state = db
      .prepare<[], { through: number; round_end: number; round_after: string }>(
        "SELECT through, round_end, round_after FROM stream_index_state WHERE id = 1",
      )
      .get();
    if (state === undefined) throw new Error("the log database has no stream_index_state row");
    this.#through = state.through;
    this.#load(state.round_end, state.round_after);
  }

  /** Events above the watermark (the memory tier's share of the log, deleted ones included). */
  get lag(): number {
    return this.#options.committedHead() - this.#through;
  }

  /** Rebuilds the memory tier from the events above the watermark; resumes a round cut by a crash. */
  #load(roundEnd: number, roundAfter: string): void {
    const rows = this.#db
      .prepare<[number], [number, string, number]>(
        "SELECT position, stream, version FROM events WHERE position > ? ORDER BY position",
      )
      .raw(true)
      .iterate(this.#through);
    const inRound = roundEnd > this.#through;
    for (const [position, stream, version] of rows) {
      // Moved to disk by the steps of the round that ran before the crash.
      if (inRound && position <= roundEnd && stream <= roundAfter) continue;
      this.#add(stream, version, position);
    }
    if (inRound) {
      this.#round = this.#newRound(roundEnd, roundAfter);
      this.#scheduleStep();
    }
  }

  // ---- reads (committed state; callers clamp to the durable head) ----

  /** The stream's newest indexed version, or undefined when it has no event. */
  newest(stream: string): number | undefined {
    const run = this.#recent.get(stream);
    if (run !== undefined) {
      for (let i = run.positions.length - 1; i >= 0; i--)
        if (run.positions[i] !== HOLE) return run.firstVersion + i;
    }
    return this.#newestOnDisk.get(stream)?.[0];
  }

  /** The row of the event at this version of the stream. */
  eventAt(stream: string, version: number): EventRow | undefined {
    const run = this.#recent.get(stream);
    let position: number | undefined;
    if (run !== undefined && version >= run.firstVersion) {
      position = run.positions[version - run.firstVersion];
      if (position === HOLE) return undefined;
    } else position = this.#positionOnDisk.get(stream, version)?.[0];
    return position === undefined ? undefined : this.#eventRow.get(position);
  }

  /** Up to `limit` events of the stream from version `from` on (or down, backwards), at positions ≤ head. */
  read(stream: string, from: number, limit: number, backwards: boolean, head: number): EventRow[] {
    const run = this.#recent.get(stream);
    if (!backwards) {
      const rows = this.#forwardsOnDisk.all(stream, from, head, limit);
      if (run === undefined || rows.length >= limit) return rows;
      const positions: number[] = [];
      for (let i = Math.max(0, from - run.firstVersion); i < run.positions.length; i++) {
        const position = run.positions[i]!;
        if (position === HOLE) continue;
        if (position > head || rows.length + positions.length >= limit) break;
        positions.push(position);
      }
      rows.push(...this.#rows(positions));
      return rows;
    }
    let diskFrom = from;
    const positions: number[] = [];
    if (run !== undefined) {
      for (let i = Math.min(from - run.firstVersion, run.positions.length - 1); i >= 0; i--) {
        if (positions.length >= limit) break;
        const position = run.positions[i]!;
        if (position !== HOLE && position <= head) positions.push(position);
      }
      diskFrom = Math.min(from, run.firstVersion - 1);
    }
    const rows = this.#rows(positions.reverse()).reverse();
    if (rows.length < limit && diskFrom >= 0)
      rows.push(...this.#backwardsOnDisk.all(stream, diskFrom, head, limit - rows.length));
    return rows;
  }

  /** The rows at these positions (ascending), in position order. */
  #rows(positions: readonly number[]): EventRow[] {
    if (positions.length === 0) return [];
    if (positions.length <= 4) {
      const rows: EventRow[] = [];
      for (const position of positions) {
        const row = this.#eventRow.get(position);
        if (row !== undefined) rows.push(row);
      }
      return rows;
    }
    return this.#eventRows.all(JSON.stringify(positions));
  }

  /** Positions of the stream's oldest events at versions ≤ maxVersion, oldest first, at most `limit`. */
  oldest(stream: string, maxVersion: number, limit: number): number[] {
    const positions = this.#oldestOnDisk.all(stream, maxVersion, limit).map(([position]) => position);
    const run = this.#recent.get(stream);
    if (run === undefined) return positions;
    for (let i = 0; i < run.positions.length && positions.length < limit; i++) {
      if (run.firstVersion + i > maxVersion) break;
      if (run.positions[i] !== HOLE) positions.push(run.positions[i]!);
    }
    return positions;
  }

  /** Positions of the stream's events of `type`, newest first, skipping the newest `skip`, at most `limit`. */
  newestOfType(stream: string, type: string, skip: number, limit: number): number[] {
    const positions: number[] = [];
    let skipped = 0;
    const run = this.#recent.get(stream);
    if (run !== undefined) {
      for (let i = run.positions.length - 1; i >= 0 && positions.length < limit; i--) {
        const position = run.positions[i]!;
        if (position === HOLE || this.#eventType.get(position)?.[0] !== type) continue;
        if (skipped < skip) skipped += 1;
        else positions.push(position);
      }
    }
    if (positions.length < limit)
      for (const [position] of this.#newestOfTypeOnDisk.all(
        stream,
        type,
        limit - positions.length,
        skip - skipped,
      ))
        positions.push(position);
    return positions;
  }

  /** The first name in the memory tier after `from` (or at it, inclusive), below `high` if given. */
  nextRecentName(from: string, inclusive: boolean, high: string | undefined): string | undefined {
    if (this.#recent.size === 0) return undefined;
    this.#sortedNames ??= [...this.#recent.keys()].sort();
    const names = this.#sortedNames;
    let low = 0;
    let top = names.length;
    while (low < top) {
      const mid = (low + top) >>> 1;
      const name = names[mid]!;
      if (name < from || (!inclusive && name === from)) low = mid + 1;
      else top = mid;
    }
    const name = names[low];
    return name === undefined || (high !== undefined && name >= high) ? undefined : name;
  }

  // ---- writes, inside a group commit's transaction ----

  /**
   * Every position of the stream, committed or stored earlier in this group (`pending`: the group's
   * changes so far), for deleting its events.
   */
  positionsOf(stream: string, pending: readonly IndexChange[]): number[] {
    const positions = this.#positionsOnDisk.all(stream).map(([position]) => position);
    const run = this.#recent.get(stream);
    if (run !== undefined)
      for (const position of run.positions) if (position !== HOLE) positions.push(position);
    for (const change of pending)
      if (!("kind" in change) && change.stream === stream) positions.push(change.position);
    return positions;
  }

  /** Removes the stream's disk entries; returns the change the group applies to memory at commit. */
  forget(stream: string): IndexChange {
    this.#deleteStream.run(stream);
    return { kind: "forget", stream };
  }

  /** Removes one event's entry (retention); returns the change the group applies at commit. */
  remove(stream: string, version: number): IndexChange {
    this.#deleteEntry.run(stream, version);
    return { kind: "remove", stream, version };
  }

  /** After a group's COMMIT: its changes reach the memory tier, in the order they were made. */
  apply(changes: readonly IndexChange[]): void {
    for (const change of changes) {
      if (!("kind" in change)) this.#add(change.stream, change.version, change.position);
      else if (change.kind === "forget") this.#drop(change.stream);
      else this.#hole(change.stream, change.version);
    }
    if (this.lag >= this.#options.mergeLag || this.#round !== undefined) this.#scheduleStep();
  }

  #add(stream: string, version: number, position: number): void {
    const run = this.#recent.get(stream);
    if (run === undefined) {
      this.#recent.set(stream, { firstVersion: version, positions: [position] });
      this.#sortedNames = undefined;
      return;
    }
    // Versions are consecutive per stream; a gap (retention took the events in between before a
    // reopen rebuilt the run) is filled with holes.
    while (run.firstVersion + run.positions.length < version) run.positions.push(HOLE);
    run.positions.push(position);
  }

  #hole(stream: string, version: number): void {
    const run = this.#recent.get(stream);
    if (run === undefined) return;
    const at = version - run.firstVersion;
    if (at >= 0 && at < run.positions.length) run.positions[at] = HOLE;
  }

  #drop(stream: string): void {
    if (this.#recent.delete(stream)) this.#sortedNames = undefined;
  }

  // ---- merging the memory tier into stream_index ----

  #newRound(end: number, after: string): RoundState {
    const names = [...this.#recent.keys()].filter((name) => name > after).sort();
    return { end, names, next: 0 };
  }

  #scheduleStep(): void {
    if (this.#stepScheduled) return;
    this.#stepScheduled = true;
    const delay = Math.max(0, this.#retryAt - Date.now());
    const run = (): void => {
      this.#stepScheduled = false;
      this.#step();
    };
    if (delay > 0) setTimeout(run, delay).unref();
    else setImmediate(run);
  }

  /** One merge step: whole streams, ~mergeStep entries, in one transaction. */
  #step(): void {
    if (!this.#options.writable() || this.#db.inTransaction) return;
    if (this.#round === undefined) {
      if (this.lag < this.#options.mergeLag) return;
      this.#round = this.#newRound(this.#options.committedHead(), "");
    }
    const round = this.#round;
    const moved: Array<[string, number]> = [];
    let entries = 0;
    let next = round.next;
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      while (next < round.names.length && entries < this.#options.mergeStep) {
        const stream = round.names[next]!;
        next += 1;
        const run = this.#recent.get(stream);
        if (run === undefined) continue; // deleted since the round began
        let count = 0;
        while (count < run.positions.length) {
          const position = run.positions[count]!;
          if (position !== HOLE) {
            if (position > round.end) break;
            this.#insert.run(stream, run.firstVersion + count, position);
            entries += 1;
          }
          count += 1;
        }
        moved.push([stream, count]);
      }
      const done = next >= round.names.length;
      const last = round.names[next - 1] ?? "";
      if (done) this.#saveState.run(round.end, 0, "");
      else this.#saveState.run(this.#through, round.end, last);
      this.#db.exec("COMMIT");
    } catch {
      // A failed step changed nothing (memory is only touched below): try again later.
      if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
      this.#retryAt = Date.now() + MERGE_RETRY_MS;
      this.#scheduleStep();
      return;
    }
    for (const [stream, count] of moved) {
      const run = this.#recent.get(stream)!;
      if (count === run.positions.length) this.#drop(stream);
      else {
        run.positions.splice(0, count);
        run.firstVersion += count;
      }
    }
    round.next = next;
    if (next >= round.names.length) {
      this.#through = round.end;
      this.#round = undefined;
    }
    if (this.#round !== undefined || this.lag >= this.#options.mergeLag) this.#scheduleStep();
  }
}
