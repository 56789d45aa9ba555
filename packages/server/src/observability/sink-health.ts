// One push subscription's sink, as the logs tell it: a warning when it starts failing, at most one
// reminder per `repeatMs` while it keeps failing, and one line when it answers again. Per-attempt lines
// would flood the log at the retry rate of every pending event; these are enough to page on.
import type { Logger } from "pino";

export interface SinkHealthOptions {
  readonly logger: Logger;
  readonly subscription: string;
  /** Least time between two "still failing" lines. Default 60 000. */
  readonly repeatMs?: number;
  readonly now?: () => number;
}

export interface SinkFailure {
  readonly status?: number;
  readonly error: string;
}

export class SinkHealth {
  readonly #options: SinkHealthOptions;
  readonly #now: () => number;
  readonly #repeatMs: number;
  /** When the current failing spell began; undefined while the sink answers. */
  #since: number | undefined;
  #failures = 0;
  #loggedAt = 0;

  constructor(options: SinkHealthOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#repeatMs = options.repeatMs ?? 60_000;
  }

  get failing(): boolean {
    return this.#since !== undefined;
  }

  /** An attempt failed in a way worth retrying (network, timeout, 408/429/5xx). */
  failed(failure: SinkFailure): void {
    const now = this.#now();
    const { logger, subscription } = this.#options;
    const reason = {
      ...(failure.status !== undefined ? { status: failure.status } : {}),
      error: failure.error,
    };
    this.#failures++;
    if (this.#since === undefined) {
      this.#since = now;
      this.#loggedAt = now;
      logger.warn({ subscription, ...reason }, "sink failing; deliveries will be retried");
      return;
    }
    if (now - this.#loggedAt < this.#repeatMs) return;
    this.#loggedAt = now;
    logger.warn(
      { subscription, ...reason, failures: this.#failures, failingForMs: now - this.#since },
      "sink still failing",
    );
  }

  /** An attempt was acked: ends a failing spell. */
  succeeded(): void {
    if (this.#since === undefined) return;
    const { logger, subscription } = this.#options;
    const failingForMs = this.#now() - this.#since;
    logger.info(
      { subscription, failures: this.#failures, failingForMs },
      `sink of subscription ${subscription} recovered after ${this.#failures} failed attempts in ${Math.round(failingForMs / 1000)} s`,
    );
    this.#since = undefined;
    this.#failures = 0;
  }
}
