// Publishing: one POST per send or batch, retried while there is no answer or a transient status,
// traced as a PRODUCER span whose context travels in the events' traceparent.
import { CloudEvent, encodeJsonEvent } from "@herald/cloudevents";
import {
  type AppendedEvent,
  CLOUDEVENTS_BATCH_MEDIA_TYPE,
  CLOUDEVENTS_JSON_MEDIA_TYPE,
  CONTENT_TYPE_HEADER,
  EXPECTED_VERSION_HEADER,
  type ExpectedVersion,
  type JsonEventObject,
  parseRetryAfter,
  RETRY_AFTER_HEADER,
} from "@herald/protocol";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { backoffDelay, sleep } from "../backoff.js";
import { sdkTracer, withTraceContext } from "../tracing/trace-context.js";
import type { EventRegistry } from "../typed/define-event.js";
import { problemOf } from "./problem.js";
import type { BatchSendResult, SendNack, SendUndelivered } from "./send-result.js";
import { type HttpTransport, parseJsonBody, type TransportResponse } from "./transport.js";
import type { WsPublisher } from "./ws-publisher.js";

export interface RetryPolicy {
  /** Total HTTP attempts per send (default 5). */
  readonly attempts?: number;
  readonly baseMs?: number;
  readonly capMs?: number;
}

export type { ExpectedVersion };

/** What goes out: a built CloudEvent, or (with `validate: false`) a JSON event object sent verbatim. */
export type OutgoingEvent = CloudEvent | JsonEventObject;

export interface AppendOptions {
  readonly signal?: AbortSignal;
  /** Per attempt, overrides the client's. */
  readonly timeoutMs?: number;
  /** Reject unless the stream is at this version: a 409 `stream-version-conflict` nack. */
  readonly expectedVersion?: ExpectedVersion;
  /**
   * false: plain objects go out as they are, in the JSON event format, and only the server validates
   * them (its refusal names each bad field, `[i].attr` in a batch). Typed definitions and trace
   * context are not applied to them. Default true: plain objects are built into CloudEvents first
   * (CloudEventValidationError before anything is sent).
   */
  readonly validate?: boolean;
}

export interface SendOptions extends AppendOptions {
  /** Append to this stream (POST /streams/{stream}) instead of the derived one. */
  readonly stream?: string;
}

/** Statuses worth another attempt: the request may not have been processed, or the broker is busy. */
const RETRY_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

export class Publisher {
  readonly #transport: HttpTransport;
  readonly #timeoutMs: number;
  readonly #retry: Required<RetryPolicy>;
  readonly #registry: EventRegistry;
  /** With `publish.transport: "ws"`: sends to `/events/ws` go over it while the broker offers it. */
  readonly #ws: WsPublisher | undefined;

  constructor(
    transport: HttpTransport,
    timeoutMs: number,
    retry: Required<RetryPolicy>,
    registry: EventRegistry,
    ws?: WsPublisher,
  ) {
    this.#transport = transport;
    this.#timeoutMs = timeoutMs;
    this.#retry = retry;
    this.#registry = registry;
    this.#ws = ws;
  }

  /** "ws" while sends go over the WebSocket ingest, "http" otherwise (also after a refused upgrade). */
  get transport(): "http" | "ws" {
    return this.#ws?.available ? "ws" : "http";
  }

  /** Waits for WebSocket sends in flight, then closes that connection. */
  async close(): Promise<void> {
    await this.#ws?.close();
  }

  async append(
    events: readonly OutgoingEvent[],
    batch: boolean,
    options: SendOptions,
  ): Promise<BatchSendResult> {
    for (const event of events) if (event instanceof CloudEvent) this.#registry.assertValid(event);
    const name = batch ? `herald send batch` : `herald send ${events[0]!.type}`;
    const span = sdkTracer().startSpan(name, {
      kind: SpanKind.PRODUCER,
      attributes: {
        "messaging.system": "herald",
        "messaging.operation.type": "send",
        "messaging.batch.message_count": events.length,
        ...(batch
          ? {}
          : {
              "cloudevents.event_id": events[0]!.id,
              "cloudevents.event_type": events[0]!.type,
              ...(events[0]!.subject === undefined
                ? {}
                : { "cloudevents.event_subject": events[0]!.subject }),
            }),
      },
    });
    const spanCtx = trace.setSpan(context.active(), span);
    const traced = events.map((e) => (e instanceof CloudEvent ? withTraceContext(e, spanCtx) : e));
    try {
      const result = await this.#deliver(traced, batch, options);
      span.setAttribute("herald.send.outcome", result.kind);
      span.setAttribute("herald.send.attempts", result.attempts);
      if (!result.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: result.kind });
      return result;
    } finally {
      span.end();
    }
  }

  /** Over the WebSocket ingest when it is on and the send targets `/events`; HTTP otherwise and as the fallback. */
  async #deliver(
    events: readonly OutgoingEvent[],
    batch: boolean,
    options: SendOptions,
  ): Promise<BatchSendResult> {
    const ws = this.#ws;
    if (ws?.available && options.stream === undefined && options.expectedVersion === undefined) {
      const result = await ws.send({
        batch,
        json: batch ? `[${events.map(encode).join(",")}]` : encode(events[0]!),
        timeoutMs: options.timeoutMs ?? this.#timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (result !== undefined) return result;
    }
    return this.#post(events, batch, options);
  }

  async #post(
    events: readonly OutgoingEvent[],
    batch: boolean,
    options: SendOptions,
  ): Promise<BatchSendResult> {
    const body = batch ? `[${events.map(encode).join(",")}]` : encode(events[0]!);
    const headers: Record<string, string> = {
      [CONTENT_TYPE_HEADER]: batch ? CLOUDEVENTS_BATCH_MEDIA_TYPE : CLOUDEVENTS_JSON_MEDIA_TYPE,
    };
    if (options.expectedVersion !== undefined)
      headers[EXPECTED_VERSION_HEADER] = String(options.expectedVersion);
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
        const asked = parseRetryAfter(response.headers[RETRY_AFTER_HEADER], this.#retry.capMs);
        const delay = asked ?? backoffDelay(attempt, this.#retry);
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
}

function encode(event: OutgoingEvent): string {
  return event instanceof CloudEvent ? encodeJsonEvent(event) : JSON.stringify(event);
}

function unknownPosition(event: OutgoingEvent): AppendedEvent {
  return { id: event.id, source: event.source, position: -1, stream: "", version: -1, duplicate: false };
}
