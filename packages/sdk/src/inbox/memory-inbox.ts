import type { ClaimResult, Inbox } from "./inbox.js";

interface Entry {
  state: "in-progress" | "done";
  expiresAt: number;
}

/** An in-process inbox (lost on restart; use SqliteInbox to survive one). Bounded by `maxEntries`. */
export class MemoryInbox implements Inbox {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  async claim(key: string, leaseMs: number): Promise<ClaimResult> {
    const now = this.#now();
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt > now) return entry.state;
    this.#set(key, { state: "in-progress", expiresAt: now + leaseMs });
    return "claimed";
  }

  async complete(key: string, ttlMs: number): Promise<void> {
    this.#set(key, { state: "done", expiresAt: this.#now() + ttlMs });
  }

  async release(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  #set(key: string, entry: Entry): void {
    this.#entries.delete(key); // re-insert: Map order = age order, oldest first
    this.#entries.set(key, entry);
    if (this.#entries.size <= this.#maxEntries) return;
    const now = this.#now();
    for (const [k, e] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries) break;
      // evict expired first; when none are, the oldest entry goes (bounded memory beats perfect recall)
      if (e.expiresAt <= now || this.#entries.size > this.#maxEntries) this.#entries.delete(k);
    }
  }
}
