// The releaser: moves due scheduled events into the log (log.scheduled.release) when their time
// comes. It sleeps on a timer armed for the earliest pending deliverAt (so an event is released
// within a few ms of its time, not at the next poll), re-reads that earliest time at least every
// `recheckMs` (events scheduled through another instance sharing the storage), and is re-armed at
// once when this instance schedules an earlier event. Every instance of a cluster runs one: the
// release is one transaction in the log, so an event is appended once whoever wakes first.
import type { EventLog } from "@herald/log";
import type { Logger } from "../observability/logger.js";

export interface ReleaserOptions {
  readonly log: EventLog;
  readonly logger: Logger;
  /** Longest sleep before the earliest pending time is read again. Default 1 000 ms. */
  readonly recheckMs?: number;
  /** Events per release transaction. Default 500. */
  readonly batch?: number;
}

export class ScheduleReleaser {
  readonly #log: EventLog;
  readonly #logger: Logger;
  readonly #recheckMs: number;
  readonly #batch: number;
  #timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (ms since the epoch). */
  #armedFor = Number.POSITIVE_INFINITY;
  #running: Promise<void> | undefined;
  /** A wake-up asked for while a pass runs: run another pass after it. */
  #again = false;
  #stopped = true;

  constructor(options: ReleaserOptions) {
    this.#log = options.log;
    this.#logger = options.logger;
    this.#recheckMs = options.recheckMs ?? 1000;
    this.#batch = options.batch ?? 500;
  }

  /** Releases what is due now, then sleeps until the next time. Idempotent. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#wake();
  }

  /** An event was scheduled for `deliverAt` (ms): wake up then if that is earlier than planned. */
  scheduled(deliverAt: number): void {
    if (this.#stopped) return;
    // A pass in flight may have read the earliest time before this event was stored: pass again.
    if (this.#running !== undefined) this.#again = true;
    else if (deliverAt < this.#armedFor) this.#arm(deliverAt);
  }

  /** Stops the timer and waits for a pass in flight. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#disarm();
    await this.#running;
  }

  #wake(): void {
    this.#disarm();
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#pass().finally(() => {
      this.#running = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.#wake();
      }
    });
  }

  async #pass(): Promise<void> {
    let next: number | undefined;
    try {
      // Release only when something is due: a release is a write transaction (on PostgreSQL it
      // takes the row lock every append takes), the earliest time is a read of one index entry.
      for (;;) {
        next = await this.#log.scheduled.next();
        if (next === undefined || next > Date.now() || this.#stopped) break;
        await this.#log.scheduled.release(Date.now(), this.#batch);
      }
    } catch (error) {
      if (this.#stopped) return;
      this.#logger.error({ err: error }, "releasing scheduled events failed; retrying");
    }
    if (this.#stopped) return;
    const recheck = Date.now() + this.#recheckMs;
    this.#arm(next === undefined ? recheck : Math.min(next, recheck));
  }

  #arm(at: number): void {
    this.#disarm();
    this.#armedFor = at;
    this.#timer = setTimeout(() => this.#wake(), Math.max(0, at - Date.now()));
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }
}
