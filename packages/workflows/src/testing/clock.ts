// A test clock that is also a TimerScheduler: time stands still until advance() moves it, and the
// timers due by then fire in due order (the harness hands them to the process manager).
import type { CloudEvent } from "@herald/cloudevents";
import type { Clock, TimerScheduler } from "../timers.js";

interface Pending {
  readonly timer: CloudEvent;
  readonly at: number;
}

export class TestClock implements Clock, TimerScheduler {
  #now: number;
  readonly #pending = new Map<string, Pending>();

  constructor(start: Date | number = Date.UTC(2026, 0, 1)) {
    this.#now = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.#now;
  }

  async schedule(timer: CloudEvent, at: Date): Promise<void> {
    // Same source+id = same timer (a repeated dispatch), as the broker's dedupe makes it.
    const key = `${timer.source}\n${timer.id}`;
    if (!this.#pending.has(key)) this.#pending.set(key, { timer, at: at.getTime() });
  }

  async cancel(timer: { readonly source: string; readonly id: string }): Promise<void> {
    this.#pending.delete(`${timer.source}\n${timer.id}`);
  }

  /** Timers not fired yet, in due order. */
  pending(): readonly { readonly timer: CloudEvent; readonly at: Date }[] {
    return [...this.#pending.values()]
      .sort((a, b) => a.at - b.at)
      .map((p) => ({ timer: p.timer, at: new Date(p.at) }));
  }

  /**
   * The earliest timer due at or before `until` (ms since the epoch), removed from the pending ones,
   * with the clock moved to its due time; undefined (the clock unmoved) when none is due by then.
   * Handling each timer before asking for the next lets timers it starts fire in the same move.
   */
  nextDue(until: number): CloudEvent | undefined {
    let first: [string, Pending] | undefined;
    for (const entry of this.#pending.entries())
      if (entry[1].at <= until && (first === undefined || entry[1].at < first[1].at)) first = entry;
    if (first === undefined) return undefined;
    this.#pending.delete(first[0]);
    this.#now = Math.max(this.#now, first[1].at);
    return first[1].timer;
  }

  /** Moves the clock by `ms`; returns the timers now due (removed from the pending ones), in due order. */
  advance(ms: number): CloudEvent[] {
    if (!(ms >= 0)) throw new RangeError(`advance(${ms}): ms must be ≥ 0`);
    this.#now += ms;
    const due = [...this.#pending.entries()]
      .filter(([, p]) => p.at <= this.#now)
      .sort((a, b) => a[1].at - b[1].at);
    for (const [key] of due) this.#pending.delete(key);
    return due.map(([, p]) => p.timer);
  }
}
