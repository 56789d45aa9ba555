import type { ClaimResult, Inbox } from "./inbox.js";

const SEQ_BITS = 2 ** 21;
/** Relative expiries are kept below 2^31 ms (~24.8 days) so that expiry·2^21 + seq stays exact. */
const MAX_EXPIRY = 2 ** 31 - 1;

/**
 * An in-process inbox (lost on restart; use SqliteInbox to survive one), bounded by `maxEntries`:
 * beyond it the least recently written entries are forgotten first.
 *
 * Memory per remembered event is one Map slot plus two array slots, no object: the value is one
 * number, `expiry·2^21 + seq` (expiry in ms since the inbox was created, seq a write counter that
 * makes every write distinct), negated while the handling is in progress. Eviction walks a FIFO of
 * (key, value) writes; a write whose value is no longer the key's current one is stale and skipped.
 * (Walking the Map itself from its start after many deletions scans their holes: O(n) per insert.)
 */
export class MemoryInbox implements Inbox {
  readonly #entries = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #epoch: number;
  #queueKeys: string[] = [];
  #queueValues: number[] = [];
  #head = 0;
  #seq = 0;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#now = options.now ?? Date.now;
    this.#epoch = this.#now() - 1;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Writes kept for eviction (live and stale); for diagnostics — bounded by about 2·maxEntries + 1024. */
  get trackedWrites(): number {
    return this.#queueKeys.length - this.#head;
  }

  claim(key: string, leaseMs: number): Promise<ClaimResult> {
    const now = this.#now() - this.#epoch;
    const value = this.#entries.get(key);
    if (value !== undefined && Math.floor(Math.abs(value) / SEQ_BITS) > now) {
      return Promise.resolve(value > 0 ? "done" : "in-progress");
    }
    this.#set(key, now + leaseMs, true);
    return Promise.resolve("claimed");
  }

  complete(key: string, ttlMs: number): Promise<void> {
    this.#set(key, this.#now() - this.#epoch + ttlMs, false);
    return Promise.resolve();
  }

  release(key: string): Promise<void> {
    this.#entries.delete(key);
    return Promise.resolve();
  }

  #set(key: string, expiry: number, inProgress: boolean): void {
    this.#seq = (this.#seq + 1) % SEQ_BITS;
    const encoded = Math.min(expiry, MAX_EXPIRY) * SEQ_BITS + this.#seq;
    const value = inProgress ? -encoded : encoded;
    this.#entries.set(key, value);
    this.#queueKeys.push(key);
    this.#queueValues.push(value);
    while (this.#entries.size > this.#maxEntries && this.#head < this.#queueKeys.length) {
      const oldKey = this.#queueKeys[this.#head]!;
      if (this.#entries.get(oldKey) === this.#queueValues[this.#head]) this.#entries.delete(oldKey);
      this.#head++;
    }
    // Compact once consumed or stale slots dominate (released keys and rewrites leave stale slots
    // behind even below the bound); each compaction follows at least maxEntries writes: amortised O(1).
    if (
      this.#queueKeys.length - this.#head > 2 * this.#maxEntries + 1024 ||
      (this.#head > 1024 && this.#head * 2 > this.#queueKeys.length)
    ) {
      const keys: string[] = [];
      const values: number[] = [];
      for (let i = this.#head; i < this.#queueKeys.length; i++) {
        const k = this.#queueKeys[i]!;
        if (this.#entries.get(k) === this.#queueValues[i]) {
          keys.push(k);
          values.push(this.#queueValues[i]!);
        }
      }
      this.#queueKeys = keys;
      this.#queueValues = values;
      this.#head = 0;
    }
  }
}
