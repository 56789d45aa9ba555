// The delivery ledger of one subscription: its most recent delivery attempts (push and pull), kept in
// memory in a ring of fixed capacity, so the console can show what happened to each event (status,
// latency, error) without the log growing by an entry per attempt. Lost on restart, by design.
import type { CloudEvent } from "@herald/cloudevents";
import type { DeliveryAttempt } from "@herald/protocol";

/**
 * One attempt as kept: cheap to record on the delivery path (no decode, no date formatting); the
 * event's id and source and the RFC 3339 time are made when the ledger is read.
 */
export interface LedgerRecord extends Omit<DeliveryAttempt, "eventId" | "source" | "at"> {
  /** ms since the epoch. */
  readonly at: number;
  readonly event: () => CloudEvent;
}

export class DeliveryLedger {
  readonly capacity: number;
  readonly #ring: (LedgerRecord | undefined)[];
  /** Attempts added so far; the newest is at (#added - 1) % capacity. */
  #added = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new RangeError(`ledger capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#ring = new Array<LedgerRecord | undefined>(capacity);
  }

  add(attempt: LedgerRecord): void {
    this.#ring[this.#added % this.capacity] = attempt;
    this.#added++;
  }

  /** Newest first; only the attempts for `position` when given. */
  list(options: { position?: number; limit: number }): DeliveryAttempt[] {
    const out: DeliveryAttempt[] = [];
    const kept = Math.min(this.#added, this.capacity);
    for (let i = 1; i <= kept && out.length < options.limit; i++) {
      const record = this.#ring[(this.#added - i) % this.capacity]!;
      if (options.position === undefined || record.position === options.position) out.push(attemptOf(record));
    }
    return out;
  }
}

function attemptOf(record: LedgerRecord): DeliveryAttempt {
  const { event, at, position, stream, ...rest } = record;
  let eventId = "";
  let source = "";
  try {
    const decoded = event();
    eventId = decoded.id;
    source = decoded.source;
  } catch {
    // An event that does not decode (it was dead-lettered for it): no id to show.
  }
  return { position, eventId, source, stream, ...rest, at: new Date(at).toISOString() };
}

/** Events settled per second over a sliding minute (1 s buckets), and when the last one was. */
export class ProgressRate {
  static readonly WINDOW_S = 60;
  readonly #counts = new Float64Array(ProgressRate.WINDOW_S);
  readonly #seconds = new Float64Array(ProgressRate.WINDOW_S);
  lastAt: number | undefined;

  add(now: number, count = 1): void {
    const second = Math.floor(now / 1000);
    const slot = second % ProgressRate.WINDOW_S;
    if (this.#seconds[slot] !== second) {
      this.#seconds[slot] = second;
      this.#counts[slot] = 0;
    }
    this.#counts[slot]! += count;
    this.lastAt = now;
  }

  /** Mean events per second over the last WINDOW_S seconds. */
  perSecond(now: number): number {
    const second = Math.floor(now / 1000);
    let total = 0;
    for (let i = 0; i < ProgressRate.WINDOW_S; i++) {
      const at = this.#seconds[i]!;
      if (at > second - ProgressRate.WINDOW_S && at <= second) total += this.#counts[i]!;
    }
    return Math.round((total / ProgressRate.WINDOW_S) * 1000) / 1000;
  }
}
