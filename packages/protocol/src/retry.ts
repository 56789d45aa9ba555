// One retry model for push, pull and the SDK's own calls: attempt n waits min(cap, base·2^(n-1)) with
// full jitter; a server's Retry-After (delta-seconds or HTTP-date) overrides it, capped.

export interface BackoffOptions {
  /** Delay ceiling of the first retry, before jitter. */
  readonly baseMs: number;
  /** No delay exceeds this. */
  readonly capMs: number;
}

/** Delay before the next attempt after `attempt` (1-based) failures: random in [0, min(cap, base·2^(attempt-1))). */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  // 2^52 already exceeds any cap; clamping keeps huge attempt counts finite.
  const exponent = Math.min(Math.max(attempt - 1, 0), 52);
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}

/**
 * `Retry-After` in milliseconds: delta-seconds or an HTTP-date (past dates give 0), at most `capMs`.
 * Undefined when absent or unparsable. A repeated header uses its first value.
 */
export function parseRetryAfter(
  value: string | readonly string[] | undefined,
  capMs: number = Number.POSITIVE_INFINITY,
  now: number = Date.now(),
): number | undefined {
  const raw = typeof value === "string" ? value : value?.[0];
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    // HTTP-date only: a bare number with a fraction or sign is not a valid Retry-After.
    if (!/[A-Za-z]/.test(trimmed)) return undefined;
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, capMs);
}
