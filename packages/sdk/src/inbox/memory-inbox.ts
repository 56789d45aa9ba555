import type { ClaimResult, Inbox } from "./inbox.js";

/**
 * An in-process inbox (lost on restart; use SqliteInbox to survive one), bounded by `maxEntries`:
 * beyond it the oldest entries are forgotten first.
 *
 * Memory per remembered event is one Map slot plus two array slots, no object: the value is a small
 * integer, the expiry in ms relative to the inbox's creation, negated while in progress. Eviction
 * walks a FIFO of (key, value) pairs instead of the Map (iterating a Map from its start after many
 * deletions scans their holes, which made inserts at capacity O(n)).
 */
export class MemoryInbox implements Inbox {
  readonly #entries = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #epoch: number;
  #queueKeys: string[] = [];
  #queueValues: number[] = [];
  #head = 0;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#now = options.now ?? Date.now;
    this.#epoch = this.#now() - 1;
  }

  get size(): number {
    return this.#entries.size;
  }

  claim(key: string, leaseMs: number): Promise<ClaimResult> {
    const now = this.#now() - this.#epoch;
    const value = this.#entries.get(key);
    if (value !== undefined && Math.abs(value) > now)
      return Promise.resolve(value > 0 ? "done" : "in-progress");
    this.#set(key, -(now + leaseMs));
    return Promise.resolve("claimed");
  }

  complete(key: string, ttlMs: number): Promise<void> {
    this.#set(key, this.#now() - this.#epoch + ttlMs);
    return Promise.resolve();
  }

  release(key: string): Promise<void> {
    this.#entries.delete(key);
    return Promise.resolve();
  }

  #set(key: string, value: number): void {
    this.#entries.set(key, value);
    this.#queueKeys.push(key);
    this.#queueValues.push(value);
    while (this.#entries.size > this.#maxEntries && this.#head < this.#queueKeys.length) {
      const oldKey = this.#queueKeys[this.#head]!;
      // A slot is stale when the key was set again later; its newest slot evicts it.
      if (this.#entries.get(oldKey) === this.#queueValues[this.#head]) this.#entries.delete(oldKey);
      this.#head++;
    }
    // Drop consumed slots once they are most of the queue (amortised O(1)).
    if (this.#head > 1024 && this.#head * 2 > this.#queueKeys.length) {
      this.#queueKeys = this.#queueKeys.slice(this.#head);
      this.#queueValues = this.#queueValues.slice(this.#head);
      this.#head = 0;
    }
  }
}
