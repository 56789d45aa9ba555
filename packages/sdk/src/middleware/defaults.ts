// The default middleware stack: what makes a consumer idempotent, retried, traced and bounded without
// configuration. Order, outermost first:
//   recover → tracing → metrics? → correlation → dead letter? → idempotent → concurrency → retry → timeout
// so a duplicate is skipped before it takes a concurrency slot, each retry attempt gets its own timeout,
// and the dead-letter sink sees the error that is left after the retries.
import type { Middleware } from "../handler.js";
import { concurrencyLimit } from "./concurrency.js";
import { correlation } from "./correlation.js";
import { type DeadLetterSink, deadLetter } from "./dead-letter.js";
import { type IdempotentOptions, idempotent } from "./idempotent.js";
import { type MetricsOptions, metrics } from "./metrics.js";
import { recover } from "./recover.js";
import { type RetryOptions, retry } from "./retry.js";
import { timeout } from "./timeout.js";
import { tracing } from "./tracing.js";

export interface DefaultMiddlewareOptions {
  /** Sees every handler error (after the retries). */
  readonly onError?: (error: Error, event: import("@herald/cloudevents").CloudEvent) => void;
  /** OpenTelemetry spans per handling (default true; no-op without an OTel SDK). */
  readonly tracing?: boolean;
  /** prom-client handler metrics (default off). `true` = global registry. */
  readonly metrics?: MetricsOptions | boolean;
  /** Stamp correlationid/causationid on emitted events (default true). */
  readonly correlation?: boolean;
  /** Where unhealable failures go (default: none — they go back to the broker, which dead-letters after maxDeliveries). */
  readonly deadLetter?: DeadLetterSink;
  /** Dead-letter retryable failures too from this delivery count on. */
  readonly deadLetterAfterDeliveries?: number;
  /** Inbox options, or false to turn dedupe off (default: in-memory inbox, 24 h TTL). */
  readonly idempotency?: IdempotentOptions | false;
  /** Max handlers running at once (default 64), or false. */
  readonly concurrency?: number | false;
  /** In-process retries (default 3 attempts, 50 ms base, 1 s cap), or false. */
  readonly retry?: RetryOptions | false;
  /** Per-attempt timeout in ms (default 30 000), or false. */
  readonly timeoutMs?: number | false;
}

export function defaultMiddleware(options: DefaultMiddlewareOptions = {}): Middleware[] {
  const stack: Middleware[] = [recover(options.onError ? { onError: options.onError } : {})];
  if (options.tracing !== false) stack.push(tracing());
  if (options.metrics) stack.push(metrics(options.metrics === true ? {} : options.metrics));
  if (options.correlation !== false) stack.push(correlation());
  if (options.deadLetter) {
    stack.push(
      deadLetter(
        options.deadLetter,
        options.deadLetterAfterDeliveries === undefined
          ? {}
          : { afterDeliveries: options.deadLetterAfterDeliveries },
      ),
    );
  }
  if (options.idempotency !== false) stack.push(idempotent(options.idempotency ?? {}));
  if (options.concurrency !== false) stack.push(concurrencyLimit(options.concurrency ?? 64));
  if (options.retry !== false) stack.push(retry(options.retry ?? {}));
  if (options.timeoutMs !== false) stack.push(timeout(options.timeoutMs ?? 30_000));
  return stack;
}
