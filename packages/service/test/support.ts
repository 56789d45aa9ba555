// Test helpers: a logger that records instead of printing.
import type { ServiceLogger } from "../src/index.js";

export interface RecordingLogger extends ServiceLogger {
  readonly entries: { level: string; fields: Record<string, unknown>; message: string }[];
}

export function quietLogger(): RecordingLogger {
  const entries: RecordingLogger["entries"] = [];
  return {
    entries,
    warn: (fields, message) => entries.push({ level: "warn", fields, message }),
    error: (fields, message) => entries.push({ level: "error", fields, message }),
  };
}

/** Resolves once `condition` holds (checked every 10 ms); fails after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A clock that moves only when told: timers fire in time order as `advanceTo` passes them. */
export class ManualClock {
  #now: number;
  #timers: { at: number; fn: () => void; id: number }[] = [];
  #ids = 0;
  constructor(start: Date) {
    this.#now = start.getTime();
  }
  now(): number {
    return this.#now;
  }
  setTimer(fn: () => void, ms: number): () => void {
    const id = this.#ids++;
    this.#timers.push({ at: this.#now + Math.max(0, ms), fn, id });
    return () => {
      this.#timers = this.#timers.filter((t) => t.id !== id);
    };
  }
  get pending(): number {
    return this.#timers.length;
  }
  /** Moves to `to`, firing each due timer at its own time and letting the work it starts settle. */
  async advanceTo(to: Date): Promise<void> {
    await settle();
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.#timers[0];
      if (!next || next.at > to.getTime()) break;
      this.#timers.shift();
      this.#now = next.at;
      next.fn();
      await settle();
    }
    this.#now = to.getTime();
    await settle();
  }
}

/** Lets queued promise callbacks and immediates run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}
