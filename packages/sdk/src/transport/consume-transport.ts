// Runs a Handler (a Router's `handle`, a typed handler, any middleware stack) over a Transport, with
// the same semantics as the Herald consumers: ack on success, nack with backoff on a retryable failure
// (a RetryableError's delayMs wins), nack at once on a non-retryable one (the transport's
// maxDeliveries, or a deadLetter middleware, then dead-letters it). Events the handler emits, and its
// reply, are published to `emitTo` before the ack.
import { backoffDelay, type BackoffOptions } from "../backoff.js";
import { isRetryable, RetryableError } from "../errors.js";
import type { Handler } from "../handler.js";
import { runHandler } from "../consumer/run-handler.js";
import type { ConsumerStats } from "../consumer/pull-consumer.js";
import {
  TRANSPORT_DEFAULTS,
  type Transport,
  type TransportMessage,
  type TransportSubscribeOptions,
  type TransportSubscription,
} from "./transport.js";

export interface ConsumeTransportOptions extends TransportSubscribeOptions {
  /** Nack delay after a failed handling: attempt n waits backoff(n) (default 200 ms base, 30 s cap). */
  readonly backoff?: BackoffOptions;
  /** Topic for the events a handler emits and for its reply; without it, emitting fails the handling. */
  readonly emitTo?: string;
  /**
   * Non-retryable failures (NonRetryableError: invalid data, refused, unmatched) are dead-lettered at
   * once where the transport can (`message.deadLetter`), instead of nacked until `maxDeliveries`
   * (default false).
   */
  readonly deadLetterNonRetryable?: boolean;
  /** Called for each handler failure (they are routine: nacked and retried). */
  readonly onError?: (error: Error, message: TransportMessage) => void;
}

export class TransportConsumer {
  readonly subscription: TransportSubscription;
  readonly #handlers: AbortController;
  readonly #counts: { handled: number; failed: number; inFlight: number };

  /** @internal use consumeTransport */
  constructor(
    subscription: TransportSubscription,
    handlers: AbortController,
    counts: { handled: number; failed: number; inFlight: number },
  ) {
    this.subscription = subscription;
    this.#handlers = handlers;
    this.#counts = counts;
  }

  get stats(): ConsumerStats {
    return { ...this.#counts };
  }

  /** Graceful: running handlers finish (ctx.signal aborts after drainMs), acks are flushed. */
  async stop(options: { drainMs?: number } = {}): Promise<void> {
    const drainMs = options.drainMs ?? TRANSPORT_DEFAULTS.drainMs;
    const timer = setTimeout(() => this.#handlers.abort(new Error("consumer stopping")), drainMs);
    try {
      await this.subscription.close({ drainMs });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Subscribes `handler` to `options.topic` as a member of `options.group`. */
export async function consumeTransport(
  transport: Transport,
  handler: Handler,
  options: ConsumeTransportOptions,
): Promise<TransportConsumer> {
  const backoff = options.backoff ?? { baseMs: 200, capMs: 30_000 };
  const handlers = new AbortController();
  const counts = { handled: 0, failed: 0, inFlight: 0 };
  const emitTo = options.emitTo;
  const subscription = await transport.subscribe(options, async (message) => {
    counts.inFlight++;
    try {
      const outcome = await runHandler(handler, message.event, {
        attempt: message.deliveryCount,
        signal: handlers.signal,
        transport: "transport",
        publishReply: true,
        publish: emitTo === undefined ? undefined : (events) => transport.publishBatch(emitTo, events),
      });
      if (outcome.ok) {
        counts.handled++;
        await message.ack();
        return;
      }
      counts.failed++;
      options.onError?.(outcome.error, message);
      if (options.deadLetterNonRetryable && !isRetryable(outcome.error) && message.deadLetter) {
        await message.deadLetter(outcome.error);
        return;
      }
      const delayMs = !isRetryable(outcome.error)
        ? 0
        : outcome.error instanceof RetryableError && outcome.error.delayMs !== undefined
          ? outcome.error.delayMs
          : backoffDelay(message.deliveryCount, backoff);
      await message.nack({ delayMs, error: outcome.error });
    } finally {
      counts.inFlight--;
    }
  });
  return new TransportConsumer(subscription, handlers, counts);
}
