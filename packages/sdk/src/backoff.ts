// Exponential backoff with full jitter: the one retry model of Herald (DESIGN.md, "Retry is one model").

export interface BackoffOptions {
  /** Delay of the first retry before jitter. */
  readonly baseMs: number;
  /** No delay exceeds this. */
  readonly capMs: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 100, capMs: 10_000 };

/** Delay before attempt `attempt + 1`, after `attempt` (≥ 1) failures: random in [0, min(cap, base·2^(attempt-1))]. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exp = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * exp);
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
