// What one group commit knows while it runs: the next position and the stream versions it has
// changed so far. Every operation of the group sees the changes of the operations before it.
import type { StreamState } from "../append-rules.js";
import type { IndexChange } from "./stream-index.js";

export class WriteGroup {
  head: number;
  /** The head before the group: its new positions are start + 1 … head. */
  readonly start: number;
  readonly recordedAt: number;
  /** keyHash of each new position, in position order (start + 1 first), for the duplicate window. */
  readonly keys: number[] = [];
  /** The same, by hash: positions this group stored (earlier operations are visible to later ones). */
  readonly #byHash = new Map<number, number[]>();
  /**
   * What the group's operations changed in the stream index, in their order; the memory tier takes
   * them at commit. An operation pushes its changes after its last statement, so a rolled-back one
   * leaves none.
   */
  readonly indexChanges: IndexChange[] = [];
  /** Set when an operation deleted events, so the head is persisted (positions are never reused). */
  removedEvents = false;
  readonly #known = new Map<string, StreamState | null>();
  /** Each looked-up stream's state before the group (what readers see until the group is durable). */
  readonly #before = new Map<string, StreamState | undefined>();
  readonly #dirty = new Set<string>();
  /** Streams whose state must be written to the streams table (tombstones, versions retention would lose). */
  readonly #persist = new Set<string>();
  /** Streams whose row goes from the streams table (hard delete): written before #persist. */
  readonly #forget = new Set<string>();
  readonly #lookup: (stream: string) => StreamState | undefined;

  constructor(head: number, recordedAt: number, lookup: (stream: string) => StreamState | undefined) {
    this.head = head;
    this.start = head;
    this.recordedAt = recordedAt;
    this.#lookup = lookup;
  }

  /** Records the hashes of positions head + 1 … head + hashes.length (call before moving head). */
  addKeys(hashes: readonly number[]): void {
    for (let i = 0; i < hashes.length; i++) {
      const hash = hashes[i]!;
      this.keys.push(hash);
      const positions = this.#byHash.get(hash);
      const position = this.head + 1 + i;
      if (positions === undefined) this.#byHash.set(hash, [position]);
      else positions.push(position);
    }
  }

  /** Positions stored by this group so far with that hash. */
  positionsWithKey(hash: number): readonly number[] | undefined {
    return this.#byHash.get(hash);
  }

  stream(name: string): StreamState | undefined {
    const known = this.#known.get(name);
    if (known !== undefined) return known ?? undefined;
    const state = this.#lookup(name);
    this.#known.set(name, state ?? null);
    this.#before.set(name, state);
    return state;
  }

  /**
   * Records a stream's new state for the rest of the group. `persist`: also write it to the streams
   * table — needed only when the events will not tell it (a tombstone, or retention removing the
   * stream's newest events); an append's version is read back from the events themselves.
   */
  setStream(name: string, state: StreamState, persist = false): void {
    if (!this.#known.has(name)) this.stream(name);
    this.#known.set(name, state);
    this.#dirty.add(name);
    if (persist) this.#persist.add(name);
  }

  /** The stream no longer exists for the rest of the group (hard delete); its row goes at commit. */
  forgetStream(name: string): void {
    if (!this.#known.has(name)) this.stream(name);
    this.#known.set(name, null);
    this.#dirty.add(name);
    this.#persist.delete(name);
    this.#forget.add(name);
  }

  /** Changed streams; undefined for a stream that was forgotten. */
  *changedStreams(): Iterable<[string, StreamState | undefined]> {
    for (const name of this.#dirty) yield [name, this.#known.get(name) ?? undefined];
  }

  /** Changed streams with their state before the group (undefined: did not exist). */
  *changedStreamsBefore(): Iterable<[string, StreamState | undefined]> {
    for (const name of this.#dirty) yield [name, this.#before.get(name)];
  }

  streamsToForget(): Iterable<string> {
    return this.#forget;
  }

  *streamsToPersist(): Iterable<[string, StreamState]> {
    for (const name of this.#persist) yield [name, this.#known.get(name)!];
  }
}
