// What one group commit knows while it runs: the next position and the stream versions it has
// changed so far. Every operation of the group sees the changes of the operations before it.
import type { StreamState } from "../append-rules.js";

export class WriteGroup {
  head: number;
  readonly recordedAt: number;
  /** Set when an operation deleted events, so the head is persisted (positions are never reused). */
  removedEvents = false;
  readonly #known = new Map<string, StreamState | null>();
  readonly #dirty = new Set<string>();
  readonly #lookup: (stream: string) => StreamState | undefined;

  constructor(head: number, recordedAt: number, lookup: (stream: string) => StreamState | undefined) {
    this.head = head;
    this.recordedAt = recordedAt;
    this.#lookup = lookup;
  }

  stream(name: string): StreamState | undefined {
    const known = this.#known.get(name);
    if (known !== undefined) return known ?? undefined;
    const state = this.#lookup(name);
    this.#known.set(name, state ?? null);
    return state;
  }

  setStream(name: string, state: StreamState): void {
    this.#known.set(name, state);
    this.#dirty.add(name);
  }

  *changedStreams(): Iterable<[string, StreamState]> {
    for (const name of this.#dirty) yield [name, this.#known.get(name)!];
  }
}
