// The engine shared by the streaming consumers (SSE, WebSocket): one connection at a time carries
// messages in; each runs the handler as the PullConsumer does (success → ack, retryable failure →
// nack with backoff, NonRetryableError → nack with no delay, so the broker's maxDeliveries dead-
// letters it); acks are batched. A dropped connection is reopened with backoff: what it held unacked
// the broker redelivers. A permanent refusal (401, 403, 404, …) ends the consumer with
// ConsumerRejectedError. stop() stops starting handlers, lets running ones finish, flushes acks, then
// closes the connection (which hands back what was received but not started).
import { decodeJsonEventObject } from "@herald/cloudevents";
import type { StreamMessage } from "@herald/protocol";
import { backoffDelay, type BackoffOptions, sleep } from "../backoff.js";
import { type ApiProblem, isRetryable, RetryableError, toError } from "../errors.js";
import type { Handler } from "../handler.js";
import type { HeraldClient } from "../client/client.js";
import type { PulledMessage } from "../client/subscription-types.js";
import { SendFailedError } from "../client/send-result.js";
import type { ConsumerStats, SubscribeOptions } from "./pull-consumer.js";
import { runHandler } from "./run-handler.js";

export type StreamTransport = "sse" | "ws";

export interface StreamSubscribeOptions extends Omit<SubscribeOptions, "waitMs"> {
  /** Delay between reconnection attempts: attempt n waits backoff(n) (default 100 ms base, 5 s cap). */
  readonly reconnect?: BackoffOptions;
  /** Acks go out once this many are queued (default half the concurrency, at least 1)… */
  readonly ackBatchSize?: number;
  /** …or this long after the first one was queued (default 5 ms). */
  readonly ackDelayMs?: number;
  /** Reconnect when nothing (not even a heartbeat) arrived for this long (default 45 s SSE, 75 s WebSocket). */
  readonly heartbeatTimeoutMs?: number;
  /** Longest wait for the server to accept a connection (default 10 000 ms). */
  readonly connectTimeoutMs?: number;
  /** Aborting it stops the consumer gracefully (as stop() does), without an error. */
  readonly signal?: AbortSignal;
}

export interface StreamConsumerStats extends ConsumerStats {
  /** Acks the broker accepted (WebSocket: sent, and not answered as unknown; acks there get no answer). */
  readonly acked: number;
  /** Connections opened after the first. */
  readonly reconnects: number;
  readonly connected: boolean;
}

/** Where a streaming consumer connects: the broker's base URL and the headers of every request (auth). */
export interface StreamEndpoint {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The broker refused the consumer for good (401, 403, 404 unknown subscription, 409 push
 * subscription, 400): retrying would not help, so the consumer ends.
 */
export class ConsumerRejectedError extends Error {
  override readonly name = "ConsumerRejectedError";
  readonly subscription: string;
  readonly transport: StreamTransport | "pull";
  readonly status: number;
  readonly problem: ApiProblem;
  constructor(
    subscription: string,
    transport: StreamTransport | "pull",
    status: number,
    problem: ApiProblem,
  ) {
    super(
      `herald refused ${transport} consumer of ${subscription} (${status}${problem.title ? ` ${problem.title}` : ""})${problem.detail ? `: ${problem.detail}` : ""}`,
    );
    this.subscription = subscription;
    this.transport = transport;
    this.status = status;
    this.problem = problem;
  }
}

/** 4xx answers other than 408/429 are refusals (the one retry model); the rest is transient. */
export function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** A message frame (StreamMessage of @herald/protocol) as the handler gets it; throws on a malformed one. */
export function toPulledMessage(frame: unknown): PulledMessage {
  if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
    throw new TypeError("a message frame must be a JSON object");
  }
  const f = frame as Partial<Record<keyof StreamMessage, unknown>>;
  if (
    typeof f.ackId !== "string" ||
    typeof f.deliveryCount !== "number" ||
    typeof f.position !== "number" ||
    typeof f.stream !== "string"
  ) {
    throw new TypeError("a message frame needs ackId, deliveryCount, position and stream");
  }
  return {
    ackId: f.ackId,
    deliveryCount: f.deliveryCount,
    position: f.position,
    stream: f.stream,
    event: decodeJsonEventObject(f.event),
  };
}

/** What a connection reports back to the engine. */
export interface ConnectionEvents {
  message(message: PulledMessage): void;
  /** A problem that does not end the connection (a bad frame, a refused command). */
  error(error: Error): void;
  /** Acks counted as accepted that the broker later reported unknown (WebSocket answers late). */
  acksRefused(count: number): void;
}

/** One open stream of messages; acks and nacks settle what it delivered. */
export interface Connection {
  /** Resolves once the broker accepted the stream; rejects (ConsumerRejectedError when permanent). */
  readonly opened: Promise<void>;
  /** Resolves when the connection ended, with why (undefined after close()). */
  readonly ended: Promise<Error | undefined>;
  /** Settles deliveries; resolves with how many the broker accepted. */
  ack(ackIds: readonly string[]): Promise<number>;
  nack(ackIds: readonly string[], delayMs: number): Promise<void>;
  /** Ends the connection (what it holds unacked goes back to the broker). Idempotent. */
  close(): void;
}

export interface ConnectOptions {
  readonly subscription: string;
  /** Most unacked messages the broker may send on this connection. */
  readonly credit: number;
  readonly connectTimeoutMs: number;
  readonly heartbeatTimeoutMs: number;
}

const DEFAULTS = Object.freeze({
  concurrency: 16,
  backoff: { baseMs: 200, capMs: 30_000 },
  reconnect: { baseMs: 100, capMs: 5_000 },
  ackDelayMs: 5,
  connectTimeoutMs: 10_000,
  drainMs: 30_000,
});

/** A connection that lasted this long, or delivered something, was healthy: the next reconnect starts the backoff over. */
const HEALTHY_MS = 1_000;

interface Session {
  readonly connection: Connection;
  acks: string[];
  ackTimer: NodeJS.Timeout | undefined;
  readonly ackSends: Set<Promise<void>>;
  delivered: boolean;
  /** The connection ended: what it delivered is the broker's again, acks and nacks on it are void. */
  over: boolean;
}

export abstract class StreamConsumer {
  readonly subscription: string;
  abstract readonly transport: StreamTransport;
  /** Resolves once the consumer has stopped: after stop(), an aborted signal or a refusal (see done()). */
  readonly stopped: Promise<void>;
  readonly #client: HeraldClient;
  readonly #handler: Handler;
  readonly #options: StreamSubscribeOptions;
  readonly #concurrency: number;
  readonly #ackBatchSize: number;
  readonly #onError: (error: Error, message?: PulledMessage) => void;
  readonly #stop = new AbortController();
  readonly #handlers = new AbortController();
  readonly #running = new Set<Promise<void>>();
  #session: Session | undefined;
  #loop: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #resolveStopped!: () => void;
  #failure: Error | undefined;
  #handled = 0;
  #failed = 0;
  #acked = 0;
  #connections = 0;

  /** The broker this consumer connects to (base URL without a trailing slash, request headers). */
  protected readonly endpoint: StreamEndpoint;

  constructor(
    client: HeraldClient,
    endpoint: StreamEndpoint,
    subscription: string,
    handler: Handler,
    options: StreamSubscribeOptions = {},
  ) {
    this.#client = client;
    this.endpoint = { url: endpoint.url.replace(/\/$/, ""), headers: endpoint.headers };
    this.subscription = subscription;
    this.#handler = handler;
    this.#options = options;
    this.#concurrency = options.concurrency ?? DEFAULTS.concurrency;
    if (!Number.isInteger(this.#concurrency) || this.#concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${this.#concurrency}`);
    }
    this.#ackBatchSize = Math.max(1, options.ackBatchSize ?? Math.floor(this.#concurrency / 2));
    // As the PullConsumer: only the consumer's own failures are reported by default.
    this.#onError =
      options.onError ??
      ((error, message) => {
        if (!message)
          console.warn(`[herald] ${this.transport} consumer of ${subscription}: ${error.message}`);
      });
    this.stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
  }

  get stats(): StreamConsumerStats {
    return {
      handled: this.#handled,
      failed: this.#failed,
      inFlight: this.#running.size,
      acked: this.#acked,
      reconnects: Math.max(0, this.#connections - 1),
      connected: this.#session !== undefined,
    };
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
    if (this.#loop) return;
    const signal = this.#options.signal;
    if (signal?.aborted) {
      this.#loop = Promise.resolve();
      void this.stop();
      return;
    }
    if (signal) {
      const onAbort = () => void this.stop();
      signal.addEventListener("abort", onAbort, { once: true });
      void this.stopped.then(() => signal.removeEventListener("abort", onAbort));
    }
    this.#loop = this.#connectLoop();
  }

  /**
   * Graceful stop: no handler starts any more; handlers already running finish (their ctx.signal
   * aborts after `drainMs`, default 30 s); acks are flushed; then the connection closes.
   */
  stop(options: { drainMs?: number } = {}): Promise<void> {
    this.#stopping ??= this.#shutdown(options.drainMs ?? DEFAULTS.drainMs);
    return this.stopped;
  }

  /** Opens one connection (the transport's part). */
  protected abstract connect(options: ConnectOptions, events: ConnectionEvents): Connection;

  /** Defaults differ by transport (the server's heartbeat interval). */
  protected abstract readonly defaultHeartbeatTimeoutMs: number;

  async #shutdown(drainMs: number): Promise<void> {
    this.#stop.abort();
    const drain = setTimeout(() => this.#handlers.abort(new Error("consumer stopping")), drainMs);
    try {
      await this.#loop;
      await Promise.all(this.#running);
      const session = this.#session;
      if (session && !session.over) {
        await this.#flushAcks(session);
        session.connection.close();
        this.#session = undefined;
      }
    } finally {
      clearTimeout(drain);
      this.#resolveStopped();
    }
  }

  async #connectLoop(): Promise<void> {
    let failures = 0;
    const stopped = new Promise<undefined>((resolve) =>
      this.#stop.signal.addEventListener("abort", () => resolve(undefined), { once: true }),
    );
    while (!this.#stop.signal.aborted) {
      const session = this.#open();
      const openedAt = Date.now();
      try {
        // A stop while connecting closes the attempt (nothing was received on it yet).
        const opened = await Promise.race([session.connection.opened.then(() => true), stopped]);
        if (!opened) {
          session.over = true;
          session.connection.close();
          return;
        }
      } catch (error) {
        session.over = true;
        session.connection.close();
        if (error instanceof ConsumerRejectedError) {
          this.#failure = error;
          this.#onError(error);
          void this.stop();
          return;
        }
        this.#onError(toError(error));
        failures++;
        await sleep(backoffDelay(failures, this.#options.reconnect ?? DEFAULTS.reconnect), this.#stop.signal);
        continue;
      }
      this.#session = session;
      this.#connections++;
      const reason = await Promise.race([session.connection.ended, stopped]);
      // stop() flushes acks on this connection and closes it.
      if (this.#stop.signal.aborted) return;
      this.#session = undefined;
      session.over = true;
      session.connection.close();
      if (session.ackTimer) clearTimeout(session.ackTimer);
      // Acks queued for it are void: the broker hands those messages out again.
      session.acks = [];
      if (reason) this.#onError(reason);
      if (session.delivered || Date.now() - openedAt >= HEALTHY_MS) failures = 0;
      failures++;
      await sleep(backoffDelay(failures, this.#options.reconnect ?? DEFAULTS.reconnect), this.#stop.signal);
    }
  }

  #open(): Session {
    const events: ConnectionEvents = {
      message: (message) => {
        session.delivered = true;
        // Received after stop(): not started; closing the connection hands it back.
        if (this.#stop.signal.aborted) return;
        const run = this.#handle(session, message).finally(() => this.#running.delete(run));
        this.#running.add(run);
      },
      error: (error) => this.#onError(error),
      acksRefused: (count) => {
        this.#acked -= count;
      },
    };
    const connection = this.connect(
      {
        subscription: this.subscription,
        credit: this.#concurrency,
        connectTimeoutMs: this.#options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
        heartbeatTimeoutMs: this.#options.heartbeatTimeoutMs ?? this.defaultHeartbeatTimeoutMs,
      },
      events,
    );
    const session: Session = {
      connection,
      acks: [],
      ackTimer: undefined,
      ackSends: new Set(),
      delivered: false,
      over: false,
    };
    return session;
  }

  async #handle(session: Session, message: PulledMessage): Promise<void> {
    const outcome = await runHandler(this.#handler, message.event, {
      attempt: message.deliveryCount,
      signal: this.#handlers.signal,
      transport: this.transport,
      publishReply: true,
      publish: async (events) => {
        const result = await this.#client.sendBatch(events);
        if (!result.ok) throw new SendFailedError(result);
      },
    });
    if (outcome.ok) {
      this.#handled++;
      this.#queueAck(session, message.ackId);
      return;
    }
    this.#failed++;
    this.#onError(outcome.error, message);
    // Same delays as the PullConsumer: non-retryable goes back at once so maxDeliveries dead-letters it.
    const delay = !isRetryable(outcome.error)
      ? 0
      : outcome.error instanceof RetryableError && outcome.error.delayMs !== undefined
        ? outcome.error.delayMs
        : backoffDelay(message.deliveryCount, this.#options.backoff ?? DEFAULTS.backoff);
    if (session.over) return; // the connection is gone: the broker redelivers it anyway
    try {
      await session.connection.nack([message.ackId], delay);
    } catch (error) {
      // The ack deadline (or the disconnect) will redeliver it anyway.
      this.#onError(toError(error), message);
    }
  }

  #queueAck(session: Session, ackId: string): void {
    if (session.over) return;
    session.acks.push(ackId);
    if (session.acks.length >= this.#ackBatchSize) {
      this.#sendAcks(session);
    } else {
      session.ackTimer ??= setTimeout(
        () => this.#sendAcks(session),
        this.#options.ackDelayMs ?? DEFAULTS.ackDelayMs,
      );
    }
  }

  #sendAcks(session: Session): void {
    if (session.ackTimer) clearTimeout(session.ackTimer);
    session.ackTimer = undefined;
    const ids = session.acks;
    if (ids.length === 0) return;
    session.acks = [];
    const send = session.connection
      .ack(ids)
      .then(
        (accepted) => {
          this.#acked += accepted;
        },
        (error: unknown) => this.#onError(toError(error)),
      )
      .finally(() => session.ackSends.delete(send));
    session.ackSends.add(send);
  }

  async #flushAcks(session: Session): Promise<void> {
    this.#sendAcks(session);
    await Promise.all(session.ackSends);
  }
}
