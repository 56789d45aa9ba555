// Bounds one handler run. At the deadline the run fails with HandlerTimeoutError (retryable) and the
// handler's ctx.signal aborts, so cooperative handlers stop; one that ignores the signal keeps
// running, but its outcome no longer counts.
//
// Cost matters (this runs for every event): deadlines are checked by one shared ticker per middleware
// instead of a timer per event, and the AbortController is created only if the handler reads ctx.signal.
import { HandlerTimeoutError } from "../errors.js";
import type { HandlerContext, Middleware } from "../handler.js";

interface Deadline {
  readonly at: number;
  fire(): void;
}

/** Fires deadlines within `granularityMs` of their time, with one interval that runs only while deadlines are pending. */
class DeadlineTicker {
  readonly #pending = new Set<Deadline>();
  readonly #granularityMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(granularityMs: number) {
    this.#granularityMs = granularityMs;
  }

  add(deadline: Deadline): void {
    this.#pending.add(deadline);
    // Referenced while deadlines are pending (as a timer per event would be); the first idle tick
    // clears it. Not toggled per event: ref()/unref() on every handling costs more than the tick.
    this.#timer ??= setInterval(() => this.#tick(), this.#granularityMs);
  }

  delete(deadline: Deadline): void {
    this.#pending.delete(deadline);
  }

  #tick(): void {
    // Stopped by an idle tick, not by delete(): re-arming a timer per event would cost more than the check.
    if (this.#pending.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    const now = Date.now();
    for (const d of this.#pending) {
      if (d.at <= now) {
        this.delete(d);
        d.fire();
      }
    }
  }
}

export function timeout(timeoutMs: number): Middleware {
  if (!(timeoutMs > 0)) throw new RangeError(`timeout must be > 0 ms, got ${timeoutMs}`);
  // Fire within 5% of the timeout, at least 5 ms and at most 100 ms late (so an idle process exits
  // at most 100 ms after its last handling).
  const ticker = new DeadlineTicker(Math.min(100, Math.max(5, Math.floor(timeoutMs / 20))));
  return (_event, ctx, next) =>
    new Promise((resolve, reject) => {
      let controller: AbortController | undefined;
      let expired: HandlerTimeoutError | undefined;
      const onOuterAbort = (): void => controller?.abort(ctx.signal.reason);
      const signal = (): AbortSignal => {
        if (!controller) {
          controller = new AbortController();
          if (expired) controller.abort(expired);
          else if (ctx.signal.aborted) controller.abort(ctx.signal.reason);
          else ctx.signal.addEventListener("abort", onOuterAbort, { once: true });
        }
        return controller.signal;
      };
      const inner: HandlerContext = {
        attempt: ctx.attempt,
        transport: ctx.transport,
        emit: ctx.emit,
        onCommit: ctx.onCommit,
        onAbort: ctx.onAbort,
        get signal() {
          return signal();
        },
      };
      const deadline: Deadline = {
        at: Date.now() + timeoutMs,
        fire: () => {
          expired = new HandlerTimeoutError(timeoutMs);
          controller?.abort(expired);
          reject(expired);
        },
      };
      ticker.add(deadline);
      const settle = (): void => {
        ticker.delete(deadline);
        if (controller) ctx.signal.removeEventListener("abort", onOuterAbort);
      };
      next(undefined, inner).then(
        (result) => {
          settle();
          resolve(result);
        },
        (error: unknown) => {
          settle();
          reject(error);
        },
      );
    });
}
