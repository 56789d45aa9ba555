// Exponential backoff with full jitter: the one retry model of Herald (DESIGN.md, "Retry is one model"),
// implemented once in @herald/protocol; the SDK adds its defaults and an abortable sleep.
import { type BackoffOptions, backoffDelay } from "@herald/protocol";

export { type BackoffOptions, backoffDelay };

export const defaultBackoff: BackoffOptions = { baseMs: 100, capMs: 10_000 };

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
