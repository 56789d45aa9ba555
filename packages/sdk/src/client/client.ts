// HeraldClient: publishes events (send, sendBatch, appends to a stream), manages subscriptions,
// pulls/acks, runs pull consumers (subscribe) and request-reply over the broker (request).
import { randomUUID } from "node:crypto";
import {
  CloudEvent,
  type CloudEventInit,
  decodeJsonEventObject,
  encodeJsonBatch,
  encodeJsonEvent,
} from "@herald/cloudevents";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { backoffDelay, sleep } from "../backoff.js";
import { ClosedError, HeraldApiError, type ProblemDetails } from "../errors.js";
import type { Handler } from "../handler.js";
import { type EventDefinition, EventRegistry } from "../typed/define-event.js";
import { sdkTracer, withTraceContext } from "../tracing/trace-context.js";
import { PullConsumer, type SubscribeOptions } from "../consumer/pull-consumer.js";
import { ReplyListener, type RequestOptions } from "./request-reply.js";
import type { AppendedEvent, BatchSendResult, SendNack, SendResult, SendUndelivered } from "./send-result.js";
import { HttpTransport, parseJsonBody, retryAfterMs, type TransportResponse } from "./transport.js";

export interface RetryPolicy {
  /** Total HTTP attempts per send (default 5). */
  readonly attempts?: number;
  readonly baseMs?: number;
  readonly capMs?: number;
}

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

export type ExpectedVersion = "any" | "no-stream" | "exists" | number;

export interface SendOptions {
  readonly signal?: AbortSignal;
  /** Per attempt, overrides the client's. */
  readonly timeoutMs?: number;
  /** Append to this stream (POST /streams/{stream}) instead of the derived one. */
  readonly stream?: string;
  /** With `stream`: reject unless the stream is at this version (409 → nack). */
  readonly expectedVersion?: ExpectedVersion;
}

/** A filter in the Subscriptions API dialects. */
export type SubscriptionFilter =
  | { readonly exact: Readonly<Record<string, string>> }
  | { readonly prefix: Readonly<Record<string, string>> }
  | { readonly suffix: Readonly<Record<string, string>> }
  | { readonly all: readonly SubscriptionFilter[] }
  | { readonly any: readonly SubscriptionFilter[] }
  | { readonly not: SubscriptionFilter }
  | { readonly sql: string };

export interface SubscriptionInit {
  /** Name of the consumer group; consumers subscribe by it. */
  readonly id?: string;
  readonly types?: readonly string[];
  readonly filters?: readonly SubscriptionFilter[];
  /** Push delivery URL (e.g. a Receiver's url); without it consumers pull. */
  readonly sink?: string;
  /** Delivery settings (packages/server/docs/subscriptions.md). */
  readonly config?: SubscriptionConfig;
}

/** The broker's subscription settings; values may also be given as numeric strings. */
export interface SubscriptionConfig {
  /** Where a new subscription starts (default "beginning"); applied on create only. */
  readonly start?: "beginning" | "now" | { readonly position: number } | { readonly time: string };
  /** "key" (default): one unacked event per stream at a time; "none": any order. */
  readonly ordering?: "key" | "none";
  /** Delivered-but-unacked events of the subscription, all consumers together (default 64). */
  readonly maxInFlight?: number;
  /** Pull lease: unacked past it, an event is redelivered (default 30 000). */
  readonly ackTimeoutMs?: number;
  /** Attempts before the event goes to the dead-letter stream (default 10). */
  readonly maxDeliveries?: number;
  /** Broker-side retry delay: min(cap, base·2^(n-1)) with full jitter. */
  readonly backoff?: { readonly baseMs?: number; readonly capMs?: number };
  /** Push: time the sink has to answer. */
  readonly timeoutMs?: number;
  /** Push: content mode (default binary). */
  readonly contentMode?: "binary" | "structured";
  /** Push: Standard Webhooks signing secret (`whsec_<base64>` or any string). */
  readonly secret?: string;
  readonly [setting: string]: unknown;
}

export interface Subscription extends SubscriptionInit {
  readonly id: string;
  readonly [member: string]: unknown;
}

export interface PulledMessage {
  readonly ackId: string;
  readonly deliveryCount: number;
  readonly position: number;
  readonly stream: string;
  readonly event: CloudEvent;
}

const RETRY_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

export class HeraldClient {
  readonly url: string;
  /** Prefix of every request id this client makes; replies are routed back by it. */
  readonly instanceId: string = randomUUID();
  /** Publishing (send, sendBatch). */
  readonly #transport: HttpTransport;
  /** Consuming and management (pull long-polls, acks, subscriptions): a pool of its own, so waiting
   *  long-polls never hold up sends and a burst of sends never delays acks. */
  readonly #control: HttpTransport;
  readonly #timeoutMs: number;
  readonly #retry: Required<RetryPolicy>;
  readonly #registry: EventRegistry;
  readonly #consumers = new Set<PullConsumer>();
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
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retry =
      options.retry === false
        ? { attempts: 1, baseMs: 0, capMs: 0 }
        : {
            attempts: options.retry?.attempts ?? 5,
            baseMs: options.retry?.baseMs ?? 100,
            capMs: options.retry?.capMs ?? 5_000,
          };
    this.#registry = new EventRegistry(options.events ?? []);
  }

  /**
   * Publishes one event. Never throws for delivery problems: the result says ack (durable, with its
   * position), nack (refused, with status and problem) or undelivered. Throws EventDataValidationError
   * when a typed definition rejects the data, before anything is sent.
   */
  async send(event: CloudEvent | CloudEventInit, options: SendOptions = {}): Promise<SendResult> {
    const result = await this.#append([toEvent(event)], false, options);
    if (!result.ok) return result;
    return { kind: "ack", ok: true, attempts: result.attempts, ...result.results[0]! };
  }

  /** Publishes several events atomically (all stored or none) in one request. */
  async sendBatch(
    events: ReadonlyArray<CloudEvent | CloudEventInit>,
    options: SendOptions = {},
  ): Promise<BatchSendResult> {
    if (events.length === 0) return { kind: "ack", ok: true, results: [], attempts: 0 };
    return this.#append(events.map(toEvent), true, options);
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
   * consumers of one subscription share its events (a consumer group).
   */
  subscribe(
    subscription: string,
    handler: Handler | { readonly handle: Handler },
    options: SubscribeOptions = {},
  ): PullConsumer {
    this.#assertOpen();
    const fn: Handler = typeof handler === "function" ? handler : (event, ctx) => handler.handle(event, ctx);
    const consumer = new PullConsumer(this, subscription, fn, options);
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

  async #append(
    events: readonly CloudEvent[],
    batch: boolean,
    options: SendOptions,
  ): Promise<BatchSendResult> {
    this.#assertOpen();
    for (const event of events) this.#registry.assertValid(event);
    const name = batch ? `herald send batch` : `herald send ${events[0]!.type}`;
    const span = sdkTracer().startSpan(name, {
      kind: SpanKind.PRODUCER,
      attributes: {
        "messaging.system": "herald",
        "messaging.operation.type": "send",
        "messaging.batch.message_count": events.length,
        ...(batch
          ? {}
          : { "cloudevents.event_id": events[0]!.id, "cloudevents.event_type": events[0]!.type }),
      },
    });
    const spanCtx = trace.setSpan(context.active(), span);
    const traced = events.map((e) => withTraceContext(e, spanCtx));
    try {
      const result = await this.#post(traced, batch, options);
      span.setAttribute("herald.send.outcome", result.kind);
      span.setAttribute("herald.send.attempts", result.attempts);
      if (!result.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: result.kind });
      return result;
    } finally {
      span.end();
    }
  }

  async #post(events: readonly CloudEvent[], batch: boolean, options: SendOptions): Promise<BatchSendResult> {
    const body = batch ? encodeJsonBatch(events) : encodeJsonEvent(events[0]!);
    const headers: Record<string, string> = {
      "content-type": batch
        ? "application/cloudevents-batch+json"
        : "application/cloudevents+json; charset=utf-8",
    };
    if (options.expectedVersion !== undefined)
      headers["herald-expected-version"] = String(options.expectedVersion);
    const path = options.stream === undefined ? "/events" : `/streams/${encodeURIComponent(options.stream)}`;
    let lastError: Error | undefined;
    for (let attempt = 1; ; attempt++) {
      let response: TransportResponse;
      try {
        response = await this.#transport.request({
          method: "POST",
          path,
          headers,
          body,
          timeoutMs: options.timeoutMs ?? this.#timeoutMs,
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (error) {
        lastError = error as Error;
        if (attempt >= this.#retry.attempts || options.signal?.aborted) {
          return {
            kind: "undelivered",
            ok: false,
            error: lastError,
            attempts: attempt,
          } satisfies SendUndelivered;
        }
        await sleep(backoffDelay(attempt, this.#retry), options.signal);
        continue;
      }
      if (response.status >= 200 && response.status < 300) {
        const parsed = parseJsonBody(response.body) as { results?: AppendedEvent[] } | undefined;
        const results = parsed?.results;
        if (!Array.isArray(results) || results.length !== events.length) {
          // A 2xx means durable; an unreadable body must not turn that into a failure.
          return { kind: "ack", ok: true, attempts: attempt, results: events.map((e) => unknownPosition(e)) };
        }
        return { kind: "ack", ok: true, attempts: attempt, results };
      }
      if (RETRY_STATUSES.has(response.status) && attempt < this.#retry.attempts && !options.signal?.aborted) {
        const asked = retryAfterMs(response.headers);
        const delay =
          asked === undefined ? backoffDelay(attempt, this.#retry) : Math.min(asked, this.#retry.capMs);
        await sleep(delay, options.signal);
        continue;
      }
      return {
        kind: "nack",
        ok: false,
        status: response.status,
        problem: problemOf(response),
        attempts: attempt,
      } satisfies SendNack;
    }
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

function unknownPosition(event: CloudEvent): AppendedEvent {
  return { id: event.id, source: event.source, position: -1, stream: "", version: -1, duplicate: false };
}

function problemOf(response: TransportResponse): ProblemDetails {
  const parsed = parseJsonBody(response.body);
  if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as ProblemDetails;
  return {
    status: response.status,
    title: response.body.toString("utf8").slice(0, 200) || `HTTP ${response.status}`,
  };
}
