// One retry model for push and pull: attempt n waits min(cap, base·2^(n-1)) with full jitter.

export interface Backoff {
  readonly baseMs: number;
  readonly capMs: number;
}

/** Delay before the next attempt after `attempt` failed deliveries (1-based), full jitter. */
export function retryDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 52);
  const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}

/** `Retry-After` as milliseconds (delta-seconds or HTTP date), capped; undefined when absent or unparsable. */
export function parseRetryAfter(
  value: string | undefined,
  capMs: number,
  now = Date.now(),
): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, capMs);
}
