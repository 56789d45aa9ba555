// HeraldClient: publishes events (send, sendBatch, appends to a stream), manages subscriptions,
// pulls/acks, runs pull consumers (subscribe) and request-reply over the broker (request).
import { randomUUID } from "node:crypto";
import { CloudEvent, type CloudEventInit, decodeJsonEventObject } from "@herald/cloudevents";
import {
  type Consumer,
  type ConsumeOptions,
  createConsumer,
  type PollConsumeOptions,
  type StreamConsumeOptions,
} from "../consumer/consume.js";
import type { PullConsumer } from "../consumer/pull-consumer.js";
import type { SseConsumer } from "../consumer/sse-consumer.js";
import type { StreamConsumer, StreamSubscribeOptions } from "../consumer/stream-consumer.js";
import type { WsConsumer } from "../consumer/ws-consumer.js";
import { ClosedError, HeraldApiError } from "../errors.js";
import type { Handler } from "../handler.js";
import { type EventDefinition, EventRegistry } from "../typed/define-event.js";
import { Publisher, problemOf, type RetryPolicy, type SendOptions } from "./publisher.js";
import { ReplyListener, type RequestOptions } from "./request-reply.js";
import type { BatchSendResult, SendResult } from "./send-result.js";
import type { PulledMessage, Subscription, SubscriptionInit } from "./subscription-types.js";
import { HttpTransport, parseJsonBody } from "./transport.js";

export interface HeraldClientOptions {
  /** Base URL of `herald serve`, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** Per HTTP attempt (default 10 000 ms). */
  readonly timeoutMs?: number;
  /** Retries of undelivered sends and 408/429/5xx answers (default 5 attempts, 100 ms base, 5 s cap); false = one attempt. */
  readonly retry?: RetryPolicy | false;
  /** Typed definitions: outgoing events of these types are validated before they leave. */
  readonly events?: readonly EventDefinition[];
  /** Keep-alive pool size (default 64 sockets). */
  readonly maxSockets?: number;
}

export class HeraldClient {
  readonly url: string;
  /** Prefix of every request id this client makes; replies are routed back by it. */
  readonly instanceId: string = randomUUID();
  /** Publishing (send, sendBatch) over its own keep-alive pool. */
  readonly #transport: HttpTransport;
  readonly #publisher: Publisher;
  /** Consuming and management (pull long-polls, acks, subscriptions): a pool of its own, so waiting
   *  long-polls never hold up sends and a burst of sends never delays acks. */
  readonly #control: HttpTransport;
  readonly #timeoutMs: number;
  readonly #consumers = new Set<Consumer>();
  /** Headers of the streaming consumers' own connections (auth). */
  readonly #streamHeaders: Readonly<Record<string, string>>;
  #replies: ReplyListener | undefined;
  #closed = false;

  constructor(options: HeraldClientOptions) {
    const transportOptions = {
      ...(options.maxSockets === undefined ? {} : { maxSockets: options.maxSockets }),
      ...(options.apiKey ? { headers: { authorization: `Bearer ${options.apiKey}` } } : {}),
    };
    this.#transport = new HttpTransport(options.url, transportOptions);
    this.#control = new HttpTransport(options.url, transportOptions);
    this.url = this.#transport.baseUrl.href.replace(/\/$/, "");
    this.#streamHeaders = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    const retry =
      options.retry === false
        ? { attempts: 1, baseMs: 0, capMs: 0 }
        : {
            attempts: options.retry?.attempts ?? 5,
            baseMs: options.retry?.baseMs ?? 100,
            capMs: options.retry?.capMs ?? 5_000,
          };
    this.#publisher = new Publisher(
      this.#transport,
      this.#timeoutMs,
      retry,
      new EventRegistry(options.events ?? []),
    );
  }

  /**
   * Publishes one event. Never throws for delivery problems: the result says ack (durable, with its
   * position), nack (refused, with status and problem) or undelivered. Throws EventDataValidationError
   * when a typed definition rejects the data, before anything is sent.
   */
  async send(event: CloudEvent | CloudEventInit, options: SendOptions = {}): Promise<SendResult> {
    this.#assertOpen();
    const result = await this.#publisher.append([toEvent(event)], false, options);
    if (!result.ok) return result;
    return { kind: "ack", ok: true, attempts: result.attempts, ...result.results[0]! };
  }

  /** Publishes several events atomically (all stored or none) in one request. */
  async sendBatch(
    events: ReadonlyArray<CloudEvent | CloudEventInit>,
    options: SendOptions = {},
  ): Promise<BatchSendResult> {
    if (events.length === 0) return { kind: "ack", ok: true, results: [], attempts: 0 };
    this.#assertOpen();
    return this.#publisher.append(events.map(toEvent), true, options);
  }

  /**
   * Sends `event` as a request and resolves with the reply: the first event whose `causationid` is the
   * request's id. The client sets the request id (`<instanceId>.<uuid>`) and a correlationid, and reads
   * replies from its own reply subscription (see request-reply.ts). Rejects with RequestTimeoutError.
   */
  async request(event: CloudEvent | CloudEventInit, options: RequestOptions = {}): Promise<CloudEvent> {
    this.#assertOpen();
    this.#replies ??= new ReplyListener(this);
    return this.#replies.request(toEvent(event), options);
  }

  /**
   * Runs `handler` (a function or a Router) for every message of a pull subscription: ack on success,
   * nack with backoff on failure; `stop()` (or client.close()) finishes in-flight handlers. Several
   * consumers of one subscription share its events (a consumer group). `transport`: "poll" (long-poll,
   * the default), "sse" or "ws" (one live connection, reconnected when it drops).
   */
  subscribe(
    subscription: string,
    handler: Handler | { readonly handle: Handler },
    options?: PollConsumeOptions,
  ): PullConsumer;
  subscribe(
    subscription: string,
    handler: Handler | { readonly handle: Handler },
    options: StreamSubscribeOptions & { readonly transport: "sse" },
  ): SseConsumer;
  subscribe(
    subscription: string,
    handler: Handler | { readonly handle: Handler },
    options: StreamSubscribeOptions & { readonly transport: "ws" },
  ): WsConsumer;
  subscribe(
    subscription: string,
    handler: Handler | { readonly handle: Handler },
    options: StreamConsumeOptions,
  ): StreamConsumer;
  subscribe(
    subscription: string,
    handler: Handler | { readonly handle: Handler },
    options?: ConsumeOptions,
  ): PullConsumer | SseConsumer | WsConsumer;
  subscribe(
    subscription: string,
    handler: Handler | { readonly handle: Handler },
    options: ConsumeOptions = {},
  ): PullConsumer | StreamConsumer {
    this.#assertOpen();
    const fn: Handler = typeof handler === "function" ? handler : (event, ctx) => handler.handle(event, ctx);
    const endpoint = { url: this.url, headers: this.#streamHeaders };
    const consumer = createConsumer(this, endpoint, subscription, fn, options);
    this.#consumers.add(consumer);
    consumer.stopped.finally(() => this.#consumers.delete(consumer));
    consumer.start();
    return consumer;
  }

  // ---- subscriptions ----

  async createSubscription(init: SubscriptionInit): Promise<Subscription> {
    return (await this.#json("POST", "/subscriptions", init)) as Subscription;
  }

  /** Creates the subscription, or returns the existing one with that id unchanged (safe at every start). */
  async ensureSubscription(init: SubscriptionInit & { readonly id: string }): Promise<Subscription> {
    try {
      return await this.createSubscription(init);
    } catch (error) {
      if (!(error instanceof HeraldApiError && error.status === 409)) throw error;
      const existing = await this.getSubscription(init.id);
      if (!existing) throw error;
      return existing;
    }
  }

  async getSubscription(id: string): Promise<Subscription | undefined> {
    try {
      return (await this.#json("GET", `/subscriptions/${encodeURIComponent(id)}`)) as Subscription;
    } catch (error) {
      if (error instanceof HeraldApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  async deleteSubscription(id: string): Promise<void> {
    try {
      await this.#json("DELETE", `/subscriptions/${encodeURIComponent(id)}`);
    } catch (error) {
      if (!(error instanceof HeraldApiError && error.status === 404)) throw error;
    }
  }

  /** Long-polls up to `max` messages (waits up to `waitMs` when none are ready). */
  async pull(
    subscription: string,
    options: { max?: number; waitMs?: number; signal?: AbortSignal } = {},
  ): Promise<PulledMessage[]> {
    const waitMs = options.waitMs ?? 1_000;
    const body = (await this.#json(
      "POST",
      `/subscriptions/${encodeURIComponent(subscription)}/pull`,
      { max: options.max ?? 100, waitMs },
      { timeoutMs: waitMs + this.#timeoutMs, ...(options.signal ? { signal: options.signal } : {}) },
    )) as { messages?: Array<Omit<PulledMessage, "event"> & { event: unknown }> } | undefined;
    return (body?.messages ?? []).map((m) => ({ ...m, event: decodeJsonEventObject(m.event) }));
  }

  async ack(subscription: string, ackIds: readonly string[]): Promise<void> {
    if (ackIds.length === 0) return;
    await this.#json("POST", `/subscriptions/${encodeURIComponent(subscription)}/ack`, { ackIds });
  }

  async nack(subscription: string, ackIds: readonly string[], delayMs?: number): Promise<void> {
    if (ackIds.length === 0) return;
    await this.#json("POST", `/subscriptions/${encodeURIComponent(subscription)}/nack`, {
      ackIds,
      ...(delayMs === undefined ? {} : { delayMs: Math.max(0, Math.round(delayMs)) }),
    });
  }

  /** Stops consumers (graceful), removes the reply subscription, closes pooled sockets. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#consumers].map((c) => c.stop()));
    await this.#replies?.close();
    this.#transport.close();
    this.#control.close();
  }

  // ---- internals ----

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError("the HeraldClient is closed");
  }

  async #json(
    method: string,
    path: string,
    body?: unknown,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<unknown> {
    const response = await this.#control.request({
      method,
      path,
      timeoutMs: options.timeoutMs ?? this.#timeoutMs,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (response.status >= 200 && response.status < 300) return parseJsonBody(response.body);
    throw new HeraldApiError(response.status, problemOf(response));
  }
}

/** Events may be given as attributes: built (and validated, CloudEventValidationError) here. */
function toEvent(event: CloudEvent | CloudEventInit): CloudEvent {
  return event instanceof CloudEvent ? event : new CloudEvent(event);
}
