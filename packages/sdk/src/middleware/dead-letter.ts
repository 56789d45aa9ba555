// Dead letter: a failure that will not heal (NonRetryableError, or a retryable one once the broker's
// delivery count reaches `afterDeliveries`) is handed to a sink with the reason, and the event is acked.
// If the sink itself fails, the original error goes on, so the event is retried, never lost.
import type { CloudEvent } from "@herald/cloudevents";
import type { DeadLetterReason } from "@herald/protocol";
import { isRetryable, toError } from "../errors.js";
import type { Middleware } from "../handler.js";

export interface DeadLetter {
  readonly event: CloudEvent;
  readonly error: Error;
  /** Delivery count when it died. */
  readonly attempt: number;
  readonly reason: Extract<DeadLetterReason, "non-retryable" | "max-deliveries">;
  readonly at: string;
}

export type DeadLetterSink = (letter: DeadLetter) => void | Promise<void>;

export interface DeadLetterOptions {
  /** Dead-letter retryable failures too once ctx.attempt ≥ this (default: only non-retryable ones). */
  readonly afterDeliveries?: number;
}

export function deadLetter(sink: DeadLetterSink, options: DeadLetterOptions = {}): Middleware {
  return async (event, ctx, next) => {
    try {
      return await next();
    } catch (thrown) {
      const error = toError(thrown);
      const retryable = isRetryable(error);
      const exhausted = options.afterDeliveries !== undefined && ctx.attempt >= options.afterDeliveries;
      if (retryable && !exhausted) throw error;
      await sink({
        event,
        error,
        attempt: ctx.attempt,
        reason: retryable ? "max-deliveries" : "non-retryable",
        at: new Date().toISOString(),
      });
      return undefined;
    }
  };
}
