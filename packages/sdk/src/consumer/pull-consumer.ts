// A pull consumer: long-polls a subscription, runs up to `concurrency` handlers at once, acks on
// success, nacks with backoff on failure. stop() stops pulling, lets in-flight handlers finish, hands
// back (nack, no delay) messages it pulled but did not start, and flushes acks. A permanent refusal
// of a pull (401, 403, 404 unknown subscription, 409 push subscription, 400) ends the consumer with
// ConsumerRejectedError, as the SSE and WebSocket consumers do; other failures are retried.
import { backoffDelay, type BackoffOptions, sleep } from "../backoff.js";
import { HeraldApiError, isRetryable, RetryableError, toError } from "../errors.js";
import type { Handler } from "../handler.js";
import type { HeraldClient } from "../client/client.js";
import type { PulledMessage } from "../client/subscription-types.js";
import { SendFailedError } from "../client/send-result.js";
import { runHandler } from "./run-handler.js";
import { ConsumerRejectedError, isPermanentStatus } from "./stream-consumer.js";

export interface SubscribeOptions {
  /** Handlers running at once (default 16). */
  readonly concurrency?: number;
  /** Long-poll wait per pull (default 1 000 ms): also the longest stop() waits for a pull to return. */
  readonly waitMs?: number;
  /** Nack delay after a failed handling: attempt n waits backoff(n) (default 200 ms base, 30 s cap). */
  readonly backoff?: BackoffOptions;
  /** Called for errors that do not belong to one handler (pull/ack failures) and for each handler failure. */
  readonly onError?: (error: Error, message?: PulledMessage) => void;
}

export interface ConsumerStats {
  readonly handled: number;
  readonly failed: number;
  readonly inFlight: number;
}

export class PullConsumer {
  readonly subscription: string;
  /** Resolves once stop() has finished. */
  readonly stopped: Promise<void>;
  readonly #client: HeraldClient;
  readonly #handler: Handler;
  readonly #concurrency: number;
  readonly #lowWater: number;
  readonly #waitMs: number;
  readonly #backoff: BackoffOptions;
  readonly #onError: (error: Error, message?: PulledMessage) => void;
  readonly #stop = new AbortController();
  readonly #handlers = new AbortController();
  readonly #running = new Set<Promise<void>>();
  #acks: string[] = [];
  #ackFlush: Promise<void> | undefined;
  #slotFreed: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #resolveStopped!: () => void;
  #handled = 0;
  #failed = 0;
  #failure: ConsumerRejectedError | undefined;

  constructor(client: HeraldClient, subscription: string, handler: Handler, options: SubscribeOptions = {}) {
    this.#client = client;
    this.subscription = subscription;
    this.#handler = handler;
    this.#concurrency = options.concurrency ?? 16;
    this.#lowWater = Math.floor(this.#concurrency / 2);
    this.#waitMs = options.waitMs ?? 1_000;
    this.#backoff = options.backoff ?? { baseMs: 200, capMs: 30_000 };
    // By default only failures of the consumer itself (pull, ack) are reported; handler failures are
    // routine (nacked and retried) and reach onError only when one is given.
    this.#onError =
      options.onError ??
      ((error, message) => {
        if (!message) console.warn(`[herald] consumer of ${subscription}: ${error.message}`);
      });
    this.stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
  }

  get stats(): ConsumerStats {
    return { handled: this.#handled, failed: this.#failed, inFlight: this.#running.size };
  }

  /** Why the consumer ended on its own (a ConsumerRejectedError), if it did. */
  get error(): Error | undefined {
    return this.#failure;
  }

  /** Resolves when the consumer stopped; rejects with the refusal when the broker refused it. */
  async done(): Promise<void> {
    await this.stopped;
    if (this.#failure) throw this.#failure;
  }

  /** Started by client.subscribe(); idempotent. */
  start(): void {
    this.#loop ??= this.#pullLoop();
  }

  /**
   * Graceful stop: no new pulls; handlers already running finish (their ctx.signal aborts after
   * `drainMs`, default 30 s); acks are flushed.
   */
  async stop(options: { drainMs?: number } = {}): Promise<void> {
    if (!this.#stop.signal.aborted) {
      this.#stop.abort();
      this.#slotFreed?.();
      const drain = setTimeout(
        () => this.#handlers.abort(new Error("consumer stopping")),
        options.drainMs ?? 30_000,
      );
      try {
        await this.#loop;
        await Promise.all(this.#running);
        await this.#flushAcks();
      } finally {
        clearTimeout(drain);
        this.#resolveStopped();
      }
    }
    return this.stopped;
  }

  async #pullLoop(): Promise<void> {
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      // Pull again once at least half the slots are free: refilling one slot per request would cost
      // a round trip per message under load.
      while (this.#running.size > this.#lowWater && !this.#stop.signal.aborted) {
        await new Promise<void>((resolve) => {
          this.#slotFreed = resolve;
        });
      }
      if (this.#stop.signal.aborted) break;
      let messages: PulledMessage[];
      try {
        // Not aborted by stop(): a pull in flight may already hold messages; they are handed back below.
        messages = await this.#client.pull(this.subscription, {
          max: this.#concurrency - this.#running.size,
          waitMs: this.#waitMs,
        });
        failures = 0;
      } catch (error) {
        if (error instanceof HeraldApiError && isPermanentStatus(error.status)) {
          this.#failure = new ConsumerRejectedError(this.subscription, "pull", error.status, error.problem);
          this.#onError(this.#failure);
          // stop() waits for this loop, which ends right here.
          void this.stop();
          break;
        }
        this.#onError(toError(error));
        failures++;
        await sleep(backoffDelay(failures, { baseMs: 100, capMs: 5_000 }), this.#stop.signal);
        continue;
      }
      if (this.#stop.signal.aborted) {
        await this.#handBack(messages);
        break;
      }
      for (const message of messages) {
        const run = this.#handle(message).finally(() => {
          this.#running.delete(run);
          this.#slotFreed?.();
        });
        this.#running.add(run);
      }
    }
  }

  async #handle(message: PulledMessage): Promise<void> {
    const outcome = await runHandler(this.#handler, message.event, {
      attempt: message.deliveryCount,
      signal: this.#handlers.signal,
      transport: "pull",
      publishReply: true,
      publish: async (events) => {
        const result = await this.#client.sendBatch(events);
        if (!result.ok) throw new SendFailedError(result);
      },
    });
    if (outcome.ok) {
      this.#handled++;
      this.#queueAck(message.ackId);
      return;
    }
    this.#failed++;
    this.#onError(outcome.error, message);
    // Non-retryable without a dead-letter middleware: hand it back at once; the broker's
    // maxDeliveries then moves it to the subscription's dead-letter stream.
    const delay = !isRetryable(outcome.error)
      ? 0
      : outcome.error instanceof RetryableError && outcome.error.delayMs !== undefined
        ? outcome.error.delayMs
        : backoffDelay(message.deliveryCount, this.#backoff);
    try {
      await this.#client.nack(this.subscription, [message.ackId], delay);
    } catch (error) {
      // The ack deadline will redeliver it anyway.
      this.#onError(toError(error), message);
    }
  }

  async #handBack(messages: readonly PulledMessage[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      await this.#client.nack(
        this.subscription,
        messages.map((m) => m.ackId),
        0,
      );
    } catch (error) {
      this.#onError(toError(error));
    }
  }

  // Acks of handlers finishing in the same tick go out in one request.
  #queueAck(ackId: string): void {
    this.#acks.push(ackId);
    if (!this.#ackFlush) {
      this.#ackFlush = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.#ackFlush = undefined;
        return this.#sendAcks();
      });
    }
  }

  async #flushAcks(): Promise<void> {
    await this.#ackFlush;
    await this.#sendAcks();
  }

  async #sendAcks(): Promise<void> {
    const ids = this.#acks;
    if (ids.length === 0) return;
    this.#acks = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await this.#client.ack(this.subscription, ids);
        return;
      } catch (error) {
        if (attempt === 3) this.#onError(toError(error));
        else await sleep(backoffDelay(attempt, { baseMs: 50, capMs: 500 }));
      }
    }
  }
}
