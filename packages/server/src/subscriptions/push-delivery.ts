// Push delivery of a subscription with a sink: one attempt per leased entry, its outcome settled in
// the window (ack, retry with backoff, or dead letter), in-flight attempts drained or aborted on stop.
import type { Logger } from "pino";
import { SinkHealth } from "../observability/sink-health.js";
import { PushCancel } from "./push-cancel.js";
import type { AttemptFailure, DeliveryWindow, Entry } from "./window.js";

export type PushOutcome =
  | { readonly kind: "ack"; readonly status: number }
  | { readonly kind: "retry"; readonly failure: AttemptFailure; readonly retryAfterMs?: number }
  | { readonly kind: "reject"; readonly failure: AttemptFailure };

/** One attempt to deliver the entry to the sink. Never throws. */
export type PushAttempt = (entry: Entry, cancel: PushCancel) => Promise<PushOutcome>;

export class PushDelivery {
  readonly #window: DeliveryWindow;
  readonly #attempt: PushAttempt;
  /** Failing spells of the sink, for the logs. */
  readonly #health: SinkHealth;
  readonly #inFlight = new Map<Entry, { cancel: PushCancel; settled: Promise<void> }>();

  constructor(window: DeliveryWindow, attempt: PushAttempt, logger: Logger, subscription: string) {
    this.#window = window;
    this.#attempt = attempt;
    this.#health = new SinkHealth({ logger, subscription });
  }

  /** Starts attempts for the ready entries, within maxInFlight. */
  handOut(now: number): void {
    for (const entry of this.#window.eligible(now, this.#window.capacity)) this.#start(entry, now);
  }

  #start(entry: Entry, now: number): void {
    const ackId = this.#window.lease(entry, "push", now);
    const cancel = new PushCancel();
    const settled = this.#attempt(entry, cancel).then(
      (outcome) => this.#finish(entry, ackId, outcome),
      (error: unknown) => this.#finish(entry, ackId, { kind: "retry", failure: { error: String(error) } }),
    );
    this.#inFlight.set(entry, { cancel, settled });
  }

  #finish(entry: Entry, ackId: string, outcome: PushOutcome): void {
    this.#inFlight.delete(entry);
    // A revoked window (reset) or an entry settled otherwise meanwhile: the outcome means nothing.
    if (this.#window.leasedBy(ackId) !== entry) return;
    if (outcome.kind === "retry") this.#health.failed(outcome.failure);
    else this.#health.succeeded();
    if (outcome.kind === "ack") this.#window.ack([ackId], outcome.status);
    else if (outcome.kind === "reject") this.#window.kill(entry, "rejected", outcome.failure);
    else this.#window.fail(entry, outcome.failure, outcome.retryAfterMs);
  }

  /** Waits up to drainMs for in-flight attempts, then aborts the rest and waits for them to settle. */
  async drain(drainMs: number): Promise<void> {
    if (this.#inFlight.size === 0) return;
    const settled = Promise.allSettled([...this.#inFlight.values()].map((attempt) => attempt.settled));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settled, new Promise((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
    for (const attempt of this.#inFlight.values()) attempt.cancel.abort();
    await settled;
  }
}
