// The outbox relay: claim a batch of rows (a lease), publish each key's rows in order, mark them
// sent. With a batching publisher every key of a claim goes in one request (each key's rows in
// order inside it); when that request fails, the keys are retried one request each, so only the
// key at fault is held back. A failed publish leaves its rows unsent and blocks its key for a
// backoff, so order per key holds; other keys go on. A permanent refusal (a 4xx but 408/429) parks
// the row with the reason instead of retrying it forever; with poison "park" (default) the key's
// later rows go on, with "block" they wait until the parked row is requeued or deleted. Several
// relays share the work through the leases. Sent rows are purged by `retention`.
import { randomUUID } from "node:crypto";
import type { CloudEvent } from "@herald/cloudevents";
import { type BackoffOptions, backoffDelay, sleep } from "@herald/sdk";
import {
  isPermanentFailure,
  type OutboxKeyBatch,
  type OutboxPublisher,
  type OutboxRow,
  type OutboxStore,
} from "./outbox.js";

export interface OutboxRetention {
  /** Delete rows sent longer ago than this (ms). */
  readonly sentMaxAgeMs?: number;
  /** Keep at most this many sent rows (the newest). */
  readonly sentMaxRows?: number;
  /** How often the running relay purges (default 60 s). */
  readonly intervalMs?: number;
}

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
  /**
   * A row refused for good is parked. `park` (default): the key's later rows are published
   * (liveness over per-key order); `block`: they wait behind it (order over liveness).
   */
  readonly poison?: "park" | "block";
  /** Which errors park a row instead of retrying (default isPermanentFailure). */
  readonly isPermanent?: (error: unknown) => boolean;
  /** Purge of sent rows (none by default: sent rows are kept). */
  readonly retention?: OutboxRetention;
  /** A failed publish (with the first row of its key) or a failed claim (no row). */
  readonly onError?: (error: unknown, row?: OutboxRow) => void;
  /** A row was parked (refused for good). */
  readonly onParked?: (row: OutboxRow, error: unknown) => void;
  /** After each published key: for metrics. */
  readonly onPublished?: (rows: readonly OutboxRow[]) => void;
}

interface KeyOutcome {
  /** Rows published (or mapped away): to mark sent. */
  readonly sent: readonly OutboxRow[];
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export class OutboxRelay {
  readonly #options: OutboxRelayOptions;
  readonly #owner: string;
  #running: Promise<void> | undefined;
  #abort = new AbortController();
  #lastPurge = 0;

  constructor(options: OutboxRelayOptions) {
    this.#options = options;
    this.#owner = options.owner ?? randomUUID();
  }

  get #parkedBlocks(): boolean {
    return this.#options.poison === "block";
  }

  /** One claim: publishes what it got; resolves with how many rows were marked sent. */
  async runOnce(): Promise<number> {
    const { store } = this.#options;
    const rows = await store.claim(
      this.#owner,
      this.#options.batchSize ?? 100,
      this.#options.leaseMs ?? 30_000,
      {
        parkedBlocks: this.#parkedBlocks,
      },
    );
    const byKey = new Map<string, OutboxRow[]>();
    for (const row of rows) {
      const list = byKey.get(row.key);
      if (list) list.push(row);
      else byKey.set(row.key, [row]);
    }
    const keys = [...byKey.entries()].map(([key, keyRows]) => ({
      key,
      rows: keyRows,
      events: this.#mapped(keyRows),
    }));
    let outcomes: KeyOutcome[] | undefined;
    const batch = this.#options.publish.batch;
    const toSend = keys.filter((k) => k.events.length > 0);
    if (batch !== undefined && toSend.length > 1) {
      try {
        await batch(toSend.map((k): OutboxKeyBatch => ({ key: k.key, events: k.events })));
        outcomes = keys.map((k) => ({ sent: k.rows }));
      } catch {
        // Nothing of it was stored (a batch is atomic): one request per key finds the key at fault,
        // and only that one backs off or is parked.
      }
    }
    outcomes ??= await Promise.all(keys.map((k) => this.#publishKey(k.key, k.rows)));
    // One mark for the whole claim: one commit of the service's database instead of one per key.
    const sent = outcomes.flatMap((o) => o.sent);
    if (sent.length > 0) await store.markSent(sent.map((r) => r.seq));
    for (const o of outcomes) if (o.sent.length > 0) this.#options.onPublished?.(o.sent);
    return sent.length;
  }

  #mapped(rows: readonly OutboxRow[]): CloudEvent[] {
    const { map } = this.#options;
    const events: CloudEvent[] = [];
    for (const row of rows) {
      const out = map ? map(row.event, row) : row.event;
      if (out !== undefined) events.push(out);
    }
    return events;
  }

  #permanent(error: unknown): boolean {
    return (this.#options.isPermanent ?? isPermanentFailure)(error);
  }

  /** One key's rows in one request; refused for good, they go one by one to find the poison row. */
  async #publishKey(key: string, rows: readonly OutboxRow[]): Promise<KeyOutcome> {
    const events = this.#mapped(rows);
    try {
      if (events.length > 0) await this.#options.publish(events, key);
      return { sent: rows };
    } catch (error) {
      if (!this.#permanent(error)) {
        await this.#failed(rows, error);
        return { sent: [] };
      }
      if (rows.length === 1) {
        await this.#park(rows, error);
        return { sent: [] };
      }
    }
    const sent: OutboxRow[] = [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const one = this.#mapped([row]);
      try {
        if (one.length > 0) await this.#options.publish(one, key);
        sent.push(row);
      } catch (error) {
        if (this.#permanent(error)) await this.#park(rows.slice(i), error);
        else await this.#failed(rows.slice(i), error);
        break;
      }
    }
    return { sent };
  }

  /** The first row backs off (blocking its key); the rest are released. */
  async #failed(rows: readonly OutboxRow[], error: unknown): Promise<void> {
    const first = rows[0]!;
    this.#options.onError?.(error, first);
    const delay = backoffDelay(first.attempts + 1, this.#options.backoff ?? { baseMs: 200, capMs: 30_000 });
    await this.#options.store.markFailed(
      first.seq,
      rows.slice(1).map((r) => r.seq),
      message(error),
      Date.now() + Math.max(1, delay),
    );
  }

  /** The first row is parked; the rest are released (published next claim unless poison "block"). */
  async #park(rows: readonly OutboxRow[], error: unknown): Promise<void> {
    const first = rows[0]!;
    this.#options.onParked?.(first, error);
    await this.#options.store.markParked(
      first.seq,
      rows.slice(1).map((r) => r.seq),
      message(error),
    );
  }

  /** Deletes sent rows beyond the retention now; resolves with how many. */
  async purge(): Promise<number> {
    const retention = this.#options.retention;
    if (retention === undefined) return 0;
    this.#lastPurge = Date.now();
    return this.#options.store.purgeSent({
      ...(retention.sentMaxAgeMs !== undefined ? { sentBefore: Date.now() - retention.sentMaxAgeMs } : {}),
      ...(retention.sentMaxRows !== undefined ? { keep: retention.sentMaxRows } : {}),
    });
  }

  /** Publishes until nothing is pending (rows blocked by a backoff included, parked ones not). */
  async drain(): Promise<void> {
    while ((await this.#options.store.pending({ parkedBlocks: this.#parkedBlocks })) > 0) {
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
          const retention = this.#options.retention;
          if (retention !== undefined && Date.now() - this.#lastPurge >= (retention.intervalMs ?? 60_000))
            await this.purge();
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
