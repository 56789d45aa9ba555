// In-process retry with exponential backoff and full jitter, for failures that pass in milliseconds
// (a busy database, a flaky call). After the last attempt the error goes out to the broker's retry.
import { backoffDelay, sleep } from "../backoff.js";
import { isRetryable, RetryableError } from "../errors.js";
import type { Middleware } from "../handler.js";

export interface RetryOptions {
  /** Total attempts including the first (default 3). */
  readonly attempts?: number;
  readonly baseMs?: number;
  readonly capMs?: number;
  /** Decides which errors are retried (default: all but NonRetryableError). */
  readonly retryIf?: (error: unknown) => boolean;
}

export function retry(options: RetryOptions = {}): Middleware {
  const attempts = Math.max(1, options.attempts ?? 3);
  const backoff = { baseMs: options.baseMs ?? 50, capMs: options.capMs ?? 1_000 };
  const retryIf = options.retryIf ?? isRetryable;
  return async (_event, ctx, next) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await next();
      } catch (error) {
        if (attempt >= attempts || !retryIf(error) || ctx.signal.aborted) throw error;
        const asked = error instanceof RetryableError ? error.delayMs : undefined;
        await sleep(asked ?? backoffDelay(attempt, backoff), ctx.signal);
      }
    }
  };
}
