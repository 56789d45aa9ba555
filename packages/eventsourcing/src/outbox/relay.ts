// The outbox relay: claim a batch of rows (a lease), publish each key's rows in order, mark them
// sent. A failed publish leaves its rows unsent and blocks its key for a backoff, so order per key
// holds; other keys go on. Several relays share the work through the leases.
import { randomUUID } from "node:crypto";
import type { CloudEvent } from "@herald/cloudevents";
import { type BackoffOptions, backoffDelay, sleep } from "@herald/sdk";
import type { OutboxPublisher, OutboxRow, OutboxStore } from "./outbox.js";

export interface OutboxRelayOptions {
  readonly store: OutboxStore;
  readonly publish: OutboxPublisher;
  /**
   * Domain → integration event on the way out (another type, trimmed data…); undefined: not
   * published (the row is marked sent). Keep it deterministic (same id) so a republish is a duplicate.
   */
  readonly map?: (event: CloudEvent, row: OutboxRow) => CloudEvent | undefined;
  /** Rows per claim (default 100). */
  readonly batchSize?: number;
  /** How long a claim is this relay's (default 30 s): longer than a publish can take. */
  readonly leaseMs?: number;
  /** Between failed attempts of a row (default: full jitter, base 200 ms, cap 30 s). */
  readonly backoff?: BackoffOptions;
  /** Wait when nothing is pending (default 200 ms). */
  readonly pollIntervalMs?: number;
  /** Identifies this relay in leases (default: a random id). */
  readonly owner?: string;
  /** A failed publish (with the first row of its key) or a failed claim (no row). */
  readonly onError?: (error: unknown, row?: OutboxRow) => void;
  /** After each published key: for metrics. */
  readonly onPublished?: (rows: readonly OutboxRow[]) => void;
}

export class OutboxRelay {
  readonly #options: OutboxRelayOptions;
  readonly #owner: string;
  #running: Promise<void> | undefined;
  #abort = new AbortController();

  constructor(options: OutboxRelayOptions) {
    this.#options = options;
    this.#owner = options.owner ?? randomUUID();
  }

  /** One claim: publishes what it got; resolves with how many rows were marked sent. */
  async runOnce(): Promise<number> {
    const { store } = this.#options;
    const rows = await store.claim(
      this.#owner,
      this.#options.batchSize ?? 100,
      this.#options.leaseMs ?? 30_000,
    );
    const byKey = new Map<string, OutboxRow[]>();
    for (const row of rows) {
      const list = byKey.get(row.key);
      if (list) list.push(row);
      else byKey.set(row.key, [row]);
    }
    const published = await Promise.all(
      [...byKey.entries()].map(([key, keyRows]) => this.#publishKey(key, keyRows)),
    );
    // One mark for the whole claim: one commit of the service's database instead of one per key.
    const sent = published.flat();
    if (sent.length > 0) await store.markSent(sent.map((r) => r.seq));
    for (const keyRows of published) if (keyRows.length > 0) this.#options.onPublished?.(keyRows);
    return sent.length;
  }

  /** The rows published (all of the key's, or none when the publish failed). */
  async #publishKey(key: string, rows: readonly OutboxRow[]): Promise<readonly OutboxRow[]> {
    const { store, map } = this.#options;
    const events: CloudEvent[] = [];
    for (const row of rows) {
      const out = map ? map(row.event, row) : row.event;
      if (out !== undefined) events.push(out);
    }
    try {
      if (events.length > 0) await this.#options.publish(events, key);
    } catch (error) {
      const first = rows[0]!;
      this.#options.onError?.(error, first);
      const delay = backoffDelay(first.attempts + 1, this.#options.backoff ?? { baseMs: 200, capMs: 30_000 });
      await store.markFailed(
        first.seq,
        rows.slice(1).map((r) => r.seq),
        error instanceof Error ? error.message : String(error),
        Date.now() + Math.max(1, delay),
      );
      return [];
    }
    return rows;
  }

  /** Publishes until nothing is pending (rows blocked by a backoff included). */
  async drain(): Promise<void> {
    while ((await this.#options.store.pending()) > 0) {
      if ((await this.runOnce()) === 0) await sleep(this.#options.pollIntervalMs ?? 200, this.#abort.signal);
      if (this.#abort.signal.aborted) return;
    }
  }

  /** Runs in the background until stop(). */
  start(): void {
    if (this.#running) return;
    this.#abort = new AbortController();
    const signal = this.#abort.signal;
    this.#running = (async () => {
      while (!signal.aborted) {
        let sent = 0;
        try {
          sent = await this.runOnce();
        } catch (error) {
          this.#options.onError?.(error);
        }
        if (sent === 0) await sleep(this.#options.pollIntervalMs ?? 200, signal);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
    this.#running = undefined;
  }
}
