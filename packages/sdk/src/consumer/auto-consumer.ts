// The default consumer (`transport: "auto"`): a WebSocket consumer (messages pushed as they commit,
// acks batched on the same socket), and long-poll when the broker has no WebSocket endpoint (an older
// broker answers the upgrade 404 route-not-found, 405, 426 or 501). Any other refusal (401, 403,
// unknown subscription, push subscription) ends it as it would end the WebSocket consumer.
import type { HeraldClient } from "../client/client.js";
import type { PulledMessage } from "../client/subscription-types.js";
import type { Handler } from "../handler.js";
import { type ConsumerStats, PullConsumer, type SubscribeOptions } from "./pull-consumer.js";
import {
  ConsumerRejectedError,
  type StreamConsumerStats,
  type StreamEndpoint,
  type StreamSubscribeOptions,
} from "./stream-consumer.js";
import { WsConsumer } from "./ws-consumer.js";

export interface AutoSubscribeOptions extends StreamSubscribeOptions {
  /** Long-poll wait per pull, once the consumer fell back to polling (default 1 000 ms). */
  readonly waitMs?: number;
}

/** A refusal of the WebSocket upgrade that means "no such endpoint here", not "not you". */
export function meansNoWebSocket(error: Error | undefined): boolean {
  if (!(error instanceof ConsumerRejectedError)) return false;
  const { status, problem } = error;
  if (status === 405 || status === 426 || status === 501) return true;
  // An unknown subscription is a 404 too, with its own code; a foreign 404 (no code) means no endpoint.
  return status === 404 && (problem.code === "route-not-found" || problem.code === undefined);
}

export class AutoConsumer {
  readonly subscription: string;
  readonly stopped: Promise<void>;
  readonly #client: HeraldClient;
  readonly #endpoint: StreamEndpoint;
  readonly #handler: Handler;
  readonly #options: AutoSubscribeOptions;
  readonly #onError: ((error: Error, message?: PulledMessage) => void) | undefined;
  #inner: WsConsumer | PullConsumer | undefined;
  #started = false;
  #stopping: Promise<void> | undefined;
  #resolveStopped!: () => void;

  constructor(
    client: HeraldClient,
    endpoint: StreamEndpoint,
    subscription: string,
    handler: Handler,
    options: AutoSubscribeOptions = {},
  ) {
    this.#client = client;
    this.#endpoint = endpoint;
    this.subscription = subscription;
    this.#handler = handler;
    this.#options = options;
    this.#onError = options.onError;
    this.stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
  }

  /** "ws" while streaming, "poll" after falling back to long-poll. */
  get transport(): "ws" | "poll" {
    return this.#inner instanceof PullConsumer ? "poll" : "ws";
  }

  /** The stats of the consumer in use: with `acked`, `reconnects`, `connected` while streaming. */
  get stats(): ConsumerStats & Partial<StreamConsumerStats> {
    return this.#inner?.stats ?? { handled: 0, failed: 0, inFlight: 0 };
  }

  get error(): Error | undefined {
    return this.#inner?.error;
  }

  async done(): Promise<void> {
    await this.stopped;
    const error = this.error;
    if (error) throw error;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    const { waitMs: _poll, ...streamOptions } = this.#options;
    const ws = new WsConsumer(this.#client, this.#endpoint, this.subscription, this.#handler, {
      ...streamOptions,
      // The refusal that sends us to long-poll is no error worth reporting.
      onError: (error, message) => {
        if (!message && meansNoWebSocket(error)) return;
        if (this.#onError) this.#onError(error, message);
        else if (!message) console.warn(`[herald] ws consumer of ${this.subscription}: ${error.message}`);
      },
    });
    this.#inner = ws;
    void ws.stopped.then(() => {
      if (this.#stopping || !meansNoWebSocket(ws.error) || this.#options.signal?.aborted) {
        this.#resolveStopped();
        return;
      }
      this.#poll();
    });
    ws.start();
  }

  #poll(): void {
    const { concurrency, backoff, onError, waitMs, signal } = this.#options;
    const options: SubscribeOptions = {
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(backoff === undefined ? {} : { backoff }),
      ...(onError === undefined ? {} : { onError }),
      ...(waitMs === undefined ? {} : { waitMs }),
    };
    const poll = new PullConsumer(this.#client, this.subscription, this.#handler, options);
    this.#inner = poll;
    const onAbort = () => void this.stop();
    signal?.addEventListener("abort", onAbort, { once: true });
    void poll.stopped.then(() => {
      signal?.removeEventListener("abort", onAbort);
      this.#resolveStopped();
    });
    poll.start();
  }

  /** Graceful, as the consumer in use stops: running handlers finish, acks are flushed. */
  stop(options: { drainMs?: number } = {}): Promise<void> {
    this.#stopping ??= (async () => {
      if (!this.#inner) {
        this.#resolveStopped();
        return;
      }
      await this.#inner.stop(options);
      // A fallback that began meanwhile is stopped too.
      await this.#inner.stop(options);
    })();
    return this.stopped;
  }
}
