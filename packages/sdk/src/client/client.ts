// HeraldClient: the whole HTTP API of `herald serve`. Publishes (send, sendBatch, append), reads the
// log and streams (readEvents, events, readStream), manages subscriptions, stats, dead letters and
// redrive, pulls/acks, runs pull consumers (subscribe) and request-reply over the broker (request).
// Bodies are @herald/protocol's wire types.
import { randomUUID } from "node:crypto";
import { CloudEvent, type CloudEventInit, decodeJsonEventObject } from "@herald/cloudevents";
import {
  AUTH_SCHEME,
  AUTHORIZATION_HEADER,
  type AckResponse,
  type BreakingChange,
  type CompatibilityMode,
  CONTENT_TYPE_HEADER,
  type CorrelationQuery,
  type DeadLettersQuery,
  type DeadLettersResponse,
  type DeliveriesQuery,
  type DeliveriesResponse,
  EXPECTED_VERSION_HEADER,
  type ExpectedVersion,
  type HealthResponse,
  type IndexResponse,
  JSON_MEDIA_TYPE,
  type JsonEventObject,
  type CancelScheduledQuery,
  type ListScheduledQuery,
  type ListScheduledResponse,
  type LineageQuery,
  type LineageResponse,
  type ListStreamsQuery,
  type ListStreamsResponse,
  type LogEntry,
  type NackResponse,
  type PullResponse,
  type ReadEventsQuery,
  type ReadEventsResponse,
  type ReadStreamQuery,
  type ReadStreamResponse,
  type ReadyResponse,
  type RegisterSchemaResponse,
  type SchemaConfigResponse,
  type SchemaSummary,
  type SchemaVersionResponse,
  type RedriveRequest,
  type RedriveResponse,
  type ResetRequest,
  type ResetResponse,
  type ScheduledEntry,
  type StatsSeriesResponse,
  type StreamSummary,
  type SubscriptionStats,
  type SubscriptionsStatsResponse,
  type UpdateSubscriptionRequest,
} from "@herald/protocol";
import { sleep } from "../backoff.js";
import type { AutoConsumer } from "../consumer/auto-consumer.js";
import {
  type AutoConsumeOptions,
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
import {
  ClosedError,
  HeraldApiError,
  SchemaRegistrationError,
  SubscriptionMismatchError,
  TransportError,
  UnexpectedResponseError,
} from "../errors.js";
import type { Handler } from "../handler.js";
import { type EventDefinition, EventRegistry } from "../typed/define-event.js";
import { problemOf } from "./problem.js";
import {
  type AppendOptions,
  type OutgoingEvent,
  Publisher,
  type RetryPolicy,
  type SendOptions,
} from "./publisher.js";
import { ReplyListener, type RequestOptions } from "./request-reply.js";
import { WsPublisher } from "./ws-publisher.js";
import type { BatchSendResult, SendResult } from "./send-result.js";
import {
  type OnSubscriptionDifference,
  type PulledMessage,
  type Subscription,
  type SubscriptionInit,
  subscriptionDifferences,
} from "./subscription-types.js";
import { HttpTransport, parseJsonBody } from "./transport.js";

/** Options every call that is not a send takes. */
export interface CallOptions {
  /** Aborting ends the call with a TransportError whose code is `ABORTED`. */
  readonly signal?: AbortSignal;
  /** Overrides the client's `timeoutMs` for this call. */
  readonly timeoutMs?: number;
}

/** `getSubscription` / `deleteSubscription`: by default a missing subscription is not an error. */
export interface MustExistOptions extends CallOptions {
  /** true: a missing subscription throws the server's 404 (`subscription-not-found`) as HeraldApiError. */
  readonly mustExist?: boolean;
}

/** `client.events()`: the global log from a position on, page by page. */
export interface EventsOptions extends Omit<ReadEventsQuery, "limit"> {
  /** Events per read (default 500). */
  readonly pageSize?: number;
  /** Stop after this position (inclusive). */
  readonly until?: number;
  /** Keep polling once caught up (default false: the iterator ends at the end of the log). */
  readonly follow?: boolean;
  /** With `follow`: wait between reads that found nothing new (default 500 ms). */
  readonly pollIntervalMs?: number;
  /** Aborting ends the iteration without throwing. */
  readonly signal?: AbortSignal;
}

/** Events given to send/append: built CloudEvents, attributes to build one from, or JSON objects (validate: false). */
export type EventInput = CloudEvent | CloudEventInit | JsonEventObject;

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
  /** How send/sendBatch reach the broker (default HTTP). */
  readonly publish?: PublishOptions;
}

export interface PublishOptions {
  /**
   * `"http"` (default): one `POST /events` per send, best for one-off clients. `"ws"`: one persistent
   * WebSocket (`/events/ws`) on which sends are pipelined, each resolving as soon as its append is
   * durable: the choice of services that publish continuously. Results, retries, idempotency and
   * auth are the same; sends to a named stream (`stream`, `expectedVersion`) still go over HTTP, and
   * so does everything once the broker refuses the upgrade (an older broker: 404).
   */
  readonly transport?: "http" | "ws";
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

  readonly #events: readonly EventDefinition[];

  constructor(options: HeraldClientOptions) {
    this.#events = options.events ?? [];
    const transportOptions = {
      ...(options.maxSockets === undefined ? {} : { maxSockets: options.maxSockets }),
      ...(options.apiKey ? { headers: { [AUTHORIZATION_HEADER]: `${AUTH_SCHEME} ${options.apiKey}` } } : {}),
    };
    this.#transport = new HttpTransport(options.url, transportOptions);
    this.#control = new HttpTransport(options.url, transportOptions);
    this.url = this.#transport.baseUrl.href.replace(/\/$/, "");
    this.#streamHeaders = options.apiKey
      ? { [AUTHORIZATION_HEADER]: `${AUTH_SCHEME} ${options.apiKey}` }
      : {};
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    const retry =
      options.retry === false
        ? { attempts: 1, baseMs: 0, capMs: 0 }
        : {
            attempts: options.retry?.attempts ?? 5,
            baseMs: options.retry?.baseMs ?? 100,
            capMs: options.retry?.capMs ?? 5_000,
          };
    const ws =
      options.publish?.transport === "ws"
        ? new WsPublisher({
            url: this.url,
            headers: this.#streamHeaders,
            retry,
            connectTimeoutMs: this.#timeoutMs,
          })
        : undefined;
    if (options.publish?.transport !== undefined && !["http", "ws"].includes(options.publish.transport))
      throw new TypeError(
        `publish.transport must be "http" or "ws", got ${JSON.stringify(options.publish.transport)}`,
      );
    this.#publisher = new Publisher(
      this.#transport,
      this.#timeoutMs,
      retry,
      new EventRegistry(options.events ?? []),
      ws,
    );
  }

  /** How sends travel right now: "ws" (publish.transport "ws", the broker took the upgrade) or "http". */
  get publishTransport(): "http" | "ws" {
    return this.#publisher.transport;
  }

  /**
   * Publishes one event. Never throws for delivery problems: the result says ack (durable, with its
   * position), nack (refused, with status and problem) or undelivered. Throws EventDataValidationError
   * when a typed definition rejects the data, before anything is sent. Goes in structured mode to
   * `POST /events`, or to `POST /streams/{stream}` with `options.stream`.
   */
  async send(event: EventInput, options: SendOptions = {}): Promise<SendResult> {
    this.#assertOpen();
    const result = await this.#publisher.append([outgoing(event, options)], false, options);
    if (!result.ok) return result;
    return { kind: "ack", ok: true, attempts: result.attempts, ...result.results[0]! };
  }

  /** Publishes several events atomically (all stored or none) in one request (batch mode). */
  async sendBatch(events: readonly EventInput[], options: SendOptions = {}): Promise<BatchSendResult> {
    if (events.length === 0) return { kind: "ack", ok: true, results: [], attempts: 0 };
    this.#assertOpen();
    return this.#publisher.append(
      events.map((e) => outgoing(e, options)),
      true,
      options,
    );
  }

  /**
   * Appends events to `stream` atomically (`POST /streams/{stream}`, batch mode), optionally only if
   * the stream is at `expectedVersion` (`any`, `no-stream`, `exists` or a version): a mismatch is a
   * nack with status 409 and code `stream-version-conflict`, whose problem has `actualVersion`.
   * Never throws for delivery problems, like send.
   */
  async append(
    stream: string,
    events: readonly EventInput[],
    options: AppendOptions = {},
  ): Promise<BatchSendResult> {
    return this.sendBatch(events, { ...options, stream });
  }

  // ---- reads ----

  /** One page of the global log (`GET /events`): events after `after`, and `next` for the next page. */
  async readEvents(query: ReadEventsQuery = {}, options: CallOptions = {}): Promise<ReadEventsResponse> {
    const path = withQuery("/events", { ...query, system: query.system === true ? true : undefined });
    return readPage(await this.#json("GET", path, undefined, options), "GET /events");
  }

  /**
   * The global log as an async iterator, page after page, from `after` (default the start) until
   * caught up (or `until`); with `follow` it keeps polling for new events. Use it to replay or to
   * rebuild a projection. Aborting `signal` ends the loop without throwing.
   */
  async *events(options: EventsOptions = {}): AsyncGenerator<LogEntry, void, undefined> {
    const { signal } = options;
    let after = options.after ?? 0;
    const query = {
      limit: options.pageSize ?? 500,
      ...(options.filter !== undefined ? { filter: options.filter } : {}),
      ...(options.system ? { system: true } : {}),
    };
    while (!signal?.aborted) {
      let page: ReadEventsResponse;
      try {
        page = await this.readEvents({ ...query, after }, signal ? { signal } : {});
      } catch (error) {
        if (signal?.aborted && error instanceof TransportError) return;
        throw error;
      }
      for (const entry of page.events) {
        if (options.until !== undefined && entry.position > options.until) return;
        yield entry;
        if (signal?.aborted) return;
      }
      // A filtered read may scan ahead without a match: `next` moves on even when `events` is empty.
      const caughtUp = page.events.length === 0 && page.next <= after;
      after = Math.max(after, page.next);
      if (options.until !== undefined && after >= options.until) return;
      if (caughtUp) {
        if (!options.follow) return;
        await sleep(options.pollIntervalMs ?? 500, signal);
      }
    }
  }

  /**
   * The lineage of one event (`GET /events/lineage`), named by `{ source, id }` or `{ position }`: its
   * causes through `causationid` (nearest first), its effects (breadth-first, `causedBy` = parent
   * position) and the first events of its correlation. An unknown event is a 404 `event-not-found`.
   */
  async lineage(query: LineageQuery, options: CallOptions = {}): Promise<LineageResponse> {
    const answer = (await this.#json("GET", withQuery("/events/lineage", query), undefined, options)) as
      | Partial<LineageResponse>
      | undefined;
    if (typeof answer?.event !== "object" || !Array.isArray(answer.causes) || !Array.isArray(answer.effects))
      throw new UnexpectedResponseError(200, "GET /events/lineage: no event, causes and effects");
    return answer as LineageResponse;
  }

  /** One page of the events whose `correlationid` is `id` (`GET /correlations/{id}`), in position order. */
  async correlation(
    id: string,
    query: CorrelationQuery = {},
    options: CallOptions = {},
  ): Promise<ReadEventsResponse> {
    const path = `/correlations/${encodeURIComponent(id)}`;
    return readPage(await this.#json("GET", withQuery(path, query), undefined, options), `GET ${path}`);
  }

  /** Ingest and delivery series of the last `minutes` (`GET /stats/series`), plus version and storage. */
  async statsSeries(
    query: { readonly minutes?: number } = {},
    options: CallOptions = {},
  ): Promise<StatsSeriesResponse> {
    const answer = (await this.#json("GET", withQuery("/stats/series", query), undefined, options)) as
      | Partial<StatsSeriesResponse>
      | undefined;
    if (!Array.isArray(answer?.points) || typeof answer.server !== "object")
      throw new UnexpectedResponseError(200, "GET /stats/series: no server and points");
    return answer as StatsSeriesResponse;
  }

  /**
   * One page of a stream (`GET /streams/{stream}`) from version `from`, forwards (default) or
   * backwards; `next` is the version to read from for the following page.
   */
  async readStream(
    stream: string,
    query: ReadStreamQuery = {},
    options: CallOptions = {},
  ): Promise<ReadStreamResponse> {
    const path = `/streams/${encodeURIComponent(stream)}`;
    return readPage(await this.#json("GET", withQuery(path, query), undefined, options), `GET ${path}`);
  }

  /**
   * One page of stream names (`GET /streams`) in name order, with each stream's version; pass
   * `after: next` for the following page (`next` is null at the end). `$` streams and deleted
   * streams only when asked for (`system`, `deleted`).
   */
  async listStreams(query: ListStreamsQuery = {}, options: CallOptions = {}): Promise<ListStreamsResponse> {
    const path = withQuery("/streams", {
      ...query,
      system: query.system === true ? true : undefined,
      deleted: query.deleted === true ? true : undefined,
    });
    const answer = (await this.#json("GET", path, undefined, options)) as Partial<ListStreamsResponse>;
    if (!Array.isArray(answer?.streams) || (answer.next !== null && typeof answer.next !== "string"))
      throw new UnexpectedResponseError(200, "GET /streams: no streams array and next");
    return answer as ListStreamsResponse;
  }

  /** Every stream matching `query`, page after page (`GET /streams`). */
  async *streams(
    query: Omit<ListStreamsQuery, "after" | "limit"> & { readonly pageSize?: number } = {},
    options: CallOptions = {},
  ): AsyncGenerator<StreamSummary, void, undefined> {
    const { pageSize, ...rest } = query;
    let after: string | undefined;
    for (;;) {
      const page = await this.listStreams(
        { ...rest, limit: pageSize ?? 500, ...(after !== undefined ? { after } : {}) },
        options,
      );
      yield* page.streams;
      if (page.next === null) return;
      after = page.next;
    }
  }

  /**
   * Soft-deletes a stream (`DELETE /streams/{stream}`, admin scope): its events become unreadable,
   * its version is kept as a tombstone so it is never reused. Resolves with the tombstone, or
   * undefined when the stream does not exist (with `mustExist`, that throws the 404). With
   * `expectedVersion`, a stream at another version is not deleted (409 stream-version-conflict).
   * `hard: true` removes the tombstone too (also one a soft delete left): the name may be used
   * again, from version 0; a server with `retention.hardDelete` false answers 409 hard-delete-disabled.
   */
  async deleteStream(
    stream: string,
    options: MustExistOptions & { readonly expectedVersion?: ExpectedVersion; readonly hard?: boolean } = {},
  ): Promise<StreamSummary | undefined> {
    const path = `/streams/${encodeURIComponent(stream)}${options.hard === true ? "?hard=true" : ""}`;
    try {
      return (await this.#json("DELETE", path, undefined, {
        ...options,
        ...(options.expectedVersion !== undefined
          ? { headers: { [EXPECTED_VERSION_HEADER]: String(options.expectedVersion) } }
          : {}),
      })) as StreamSummary;
    } catch (error) {
      if (!options.mustExist && isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Pending scheduled events (`GET /scheduled`, consume scope): events published with a future
   * `deliverat` and not released yet, in scheduling order. Pass `next` as `after` for the next page.
   */
  async listScheduled(
    query: ListScheduledQuery = {},
    options: CallOptions = {},
  ): Promise<ListScheduledResponse> {
    const answer = (await this.#json("GET", withQuery("/scheduled", query), undefined, options)) as
      | Partial<ListScheduledResponse>
      | undefined;
    if (!Array.isArray(answer?.scheduled) || typeof answer.next !== "number")
      throw new UnexpectedResponseError(200, "GET /scheduled: no scheduled array and next");
    return answer as ListScheduledResponse;
  }

  /** Every pending scheduled event, page after page (`GET /scheduled`). */
  async *scheduledEvents(
    query: { readonly pageSize?: number } = {},
    options: CallOptions = {},
  ): AsyncGenerator<ScheduledEntry, void, undefined> {
    let after = 0;
    for (;;) {
      const page = await this.listScheduled({ after, limit: query.pageSize ?? 500 }, options);
      yield* page.scheduled;
      if (page.scheduled.length === 0) return;
      after = page.next;
    }
  }

  /**
   * Cancels a pending scheduled event (`DELETE /scheduled`, publish scope) before it fires.
   * "cancelled": it will not be delivered. "released": too late, it is already in the log (409
   * scheduled-already-released). "unknown": neither pending nor in the log (404 scheduled-not-found).
   * Other refusals throw HeraldApiError.
   */
  async cancelScheduled(
    key: CancelScheduledQuery,
    options: CallOptions = {},
  ): Promise<"cancelled" | "released" | "unknown"> {
    try {
      await this.#json(
        "DELETE",
        withQuery("/scheduled", { source: key.source, id: key.id }),
        undefined,
        options,
      );
      return "cancelled";
    } catch (error) {
      if (error instanceof HeraldApiError && error.code === "scheduled-already-released") return "released";
      if (error instanceof HeraldApiError && error.code === "scheduled-not-found") return "unknown";
      throw error;
    }
  }

  /**
   * Registers `schema` (JSON Schema; a TypeBox schema is one) as the next version of `type`'s data schema
   * (`PUT /schemas/{type}`, admin scope). Resolves with the version, also when the same schema already was
   * one (`created: false`); a change the type's compatibility mode refuses throws HeraldApiError 409
   * `schema-incompatible` (its problem lists `breakingChanges`).
   */
  async registerSchema(
    type: string,
    schema: unknown,
    options: CallOptions = {},
  ): Promise<RegisterSchemaResponse> {
    // JSON only: TypeBox's symbol-keyed members are not part of the schema.
    const body: unknown = JSON.parse(JSON.stringify(schema));
    return (await this.#json(
      "PUT",
      `/schemas/${encodeURIComponent(type)}`,
      body,
      options,
    )) as RegisterSchemaResponse;
  }

  /**
   * A registered version of `type`'s schema (the latest by default), or undefined when there is none
   * (with `mustExist`, that throws the 404 `schema-not-found`).
   */
  async getSchema(
    type: string,
    options: MustExistOptions & { readonly version?: number } = {},
  ): Promise<SchemaVersionResponse | undefined> {
    const path =
      options.version === undefined
        ? `/schemas/${encodeURIComponent(type)}`
        : `/schemas/${encodeURIComponent(type)}/versions/${options.version}`;
    try {
      return (await this.#json("GET", path, undefined, options)) as SchemaVersionResponse;
    } catch (error) {
      if (!options.mustExist && isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Every type with a registered schema: its latest version and compatibility mode. */
  async listSchemas(options: CallOptions = {}): Promise<SchemaSummary[]> {
    const answer = (await this.#json("GET", "/schemas", undefined, options)) as { schemas?: unknown };
    if (!Array.isArray(answer.schemas))
      throw new UnexpectedResponseError(200, "GET /schemas: no schemas array");
    return answer.schemas as SchemaSummary[];
  }

  /** Sets `type`'s compatibility mode (admin scope); `null` returns it to the server-wide mode. */
  async setSchemaCompatibility(
    type: string,
    compatibility: CompatibilityMode | null,
    options: CallOptions = {},
  ): Promise<SchemaConfigResponse> {
    const path = `/schemas/${encodeURIComponent(type)}/config`;
    return (await this.#json("PUT", path, { compatibility }, options)) as SchemaConfigResponse;
  }

  /**
   * Registers the schema of each typed event definition (default: the client's `events`) — call it at
   * start so a service whose events the registry refuses fails before it publishes. Throws
   * SchemaRegistrationError (with the breaking changes) at the first refusal; resolves with each version.
   */
  async registerEventSchemas(
    definitions: readonly EventDefinition[] = this.#events,
    options: CallOptions = {},
  ): Promise<RegisterSchemaResponse[]> {
    const versions: RegisterSchemaResponse[] = [];
    for (const definition of definitions) {
      try {
        versions.push(await this.registerSchema(definition.type, definition.schema, options));
      } catch (error) {
        if (
          error instanceof HeraldApiError &&
          (error.code === "schema-incompatible" || error.code === "schema-invalid")
        ) {
          const changes = (error.problem as { breakingChanges?: unknown }).breakingChanges;
          throw new SchemaRegistrationError(
            definition.type,
            Array.isArray(changes) ? (changes as BreakingChange[]) : [],
            error,
          );
        }
        throw error;
      }
    }
    return versions;
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
   * consumers of one subscription share its events (a consumer group). `transport`: "auto" (the
   * default: a WebSocket with batched acks, long-poll when the broker has no WebSocket endpoint),
   * "poll" (long-poll), "sse" or "ws". Streams reconnect when they drop; what the dropped connection
   * held unacked the broker redelivers.
   */
  subscribe(
    subscription: string,
    handler: Handler | { readonly handle: Handler },
    options?: AutoConsumeOptions,
  ): AutoConsumer;
  subscribe(
    subscription: string,
    handler: Handler | { readonly handle: Handler },
    options: PollConsumeOptions,
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
  ): Consumer;
  subscribe(
    subscription: string,
    handler: Handler | { readonly handle: Handler },
    options: ConsumeOptions = {},
  ): Consumer {
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

  /** Every subscription, sorted by id (`GET /subscriptions`). */
  async listSubscriptions(options: CallOptions = {}): Promise<Subscription[]> {
    const answer = await this.#json("GET", "/subscriptions", undefined, options);
    if (!Array.isArray(answer)) throw new UnexpectedResponseError(200, "GET /subscriptions: not an array");
    return answer as Subscription[];
  }

  /**
   * The subscription, or undefined when there is none with that id (with `mustExist`: the 404 as a
   * HeraldApiError). Secrets are shown as `********`.
   */
  async getSubscription(id: string, options: MustExistOptions & { mustExist: true }): Promise<Subscription>;
  async getSubscription(id: string, options?: MustExistOptions): Promise<Subscription | undefined>;
  async getSubscription(id: string, options: MustExistOptions = {}): Promise<Subscription | undefined> {
    try {
      return (await this.#json("GET", subscriptionPath(id), undefined, options)) as Subscription;
    } catch (error) {
      if (!options.mustExist && isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Creates a subscription (`POST /subscriptions`); config may be given typed (numbers). A taken id
   * is a HeraldApiError 409; an invalid resource a 400 whose problem lists each field in `errors`.
   */
  async createSubscription(init: SubscriptionInit, options: CallOptions = {}): Promise<Subscription> {
    return (await this.#json("POST", "/subscriptions", init, options)) as Subscription;
  }

  /**
   * Creates the subscription, or finds the existing one with that id (safe at every start). When
   * the existing one differs (subscriptionDifferences: filters, sink, settings …), `onDifference`
   * decides: `"error"` (default) throws SubscriptionMismatchError naming the members, `"update"`
   * replaces it (PUT: progress and dead letters kept), `"keep"` returns it unchanged.
   */
  async ensureSubscription(
    init: SubscriptionInit & { readonly id: string },
    options: CallOptions & { readonly onDifference?: OnSubscriptionDifference } = {},
  ): Promise<Subscription> {
    const onDifference = options.onDifference ?? "error";
    if (!["error", "update", "keep"].includes(onDifference))
      throw new TypeError(
        `onDifference must be "error", "update" or "keep", got ${JSON.stringify(onDifference)}`,
      );
    try {
      return await this.createSubscription(init, options);
    } catch (error) {
      if (!(error instanceof HeraldApiError && error.status === 409)) throw error;
      const existing = await this.getSubscription(init.id, options);
      if (!existing) throw error;
      const differences = subscriptionDifferences(init, existing);
      if (differences.length === 0 || onDifference === "keep") return existing;
      if (onDifference === "update") return this.updateSubscription(init.id, init, options);
      throw new SubscriptionMismatchError(init.id, differences);
    }
  }

  /**
   * Replaces a subscription's resource (`PUT /subscriptions/{id}`), keeping its progress and dead
   * letters; a `********` secret keeps the stored one. A missing subscription is a 404 HeraldApiError.
   */
  async updateSubscription(
    id: string,
    resource: UpdateSubscriptionRequest,
    options: CallOptions = {},
  ): Promise<Subscription> {
    return (await this.#json("PUT", subscriptionPath(id), resource, options)) as Subscription;
  }

  /** Deletes a subscription: true when it existed (with `mustExist`, a missing one throws the 404). */
  async deleteSubscription(id: string, options: MustExistOptions = {}): Promise<boolean> {
    try {
      await this.#json("DELETE", subscriptionPath(id), undefined, options);
      return true;
    } catch (error) {
      if (!options.mustExist && isNotFound(error)) return false;
      throw error;
    }
  }

  /** Lag, in flight, checkpoint, head and delivery counters (`GET /subscriptions/{id}/stats`). */
  async subscriptionStats(id: string, options: CallOptions = {}): Promise<SubscriptionStats> {
    return (await this.#json(
      "GET",
      `${subscriptionPath(id)}/stats`,
      undefined,
      options,
    )) as SubscriptionStats;
  }

  /** Every subscription's stats in one call (`GET /stats/subscriptions`), sorted by id. */
  async subscriptionsStats(options: CallOptions = {}): Promise<readonly SubscriptionStats[]> {
    const answer = (await this.#json("GET", "/stats/subscriptions", undefined, options)) as
      | Partial<SubscriptionsStatsResponse>
      | undefined;
    if (!Array.isArray(answer?.subscriptions))
      throw new UnexpectedResponseError(200, "GET /stats/subscriptions: no subscriptions array");
    return answer.subscriptions;
  }

  /**
   * A subscription's recent delivery attempts, newest first (`GET /subscriptions/{id}/deliveries`),
   * optionally only those of the event at `position`. The server keeps `capacity` per subscription.
   */
  async deliveries(
    id: string,
    query: DeliveriesQuery = {},
    options: CallOptions = {},
  ): Promise<DeliveriesResponse> {
    const path = `${subscriptionPath(id)}/deliveries`;
    const answer = (await this.#json("GET", withQuery(path, query), undefined, options)) as
      | Partial<DeliveriesResponse>
      | undefined;
    if (!Array.isArray(answer?.deliveries) || typeof answer.capacity !== "number")
      throw new UnexpectedResponseError(200, `GET ${path}: no deliveries array and capacity`);
    return answer as DeliveriesResponse;
  }

  /**
   * One page of a subscription's dead letters, oldest first: each the original event plus why it
   * died. Pass `next` as `after` for the following page; an empty page ends the list.
   */
  async deadLetters(
    id: string,
    query: DeadLettersQuery = {},
    options: CallOptions = {},
  ): Promise<DeadLettersResponse> {
    const path = `${subscriptionPath(id)}/dead-letters`;
    const answer = await this.#json("GET", withQuery(path, query), undefined, options);
    const page = answer as Partial<DeadLettersResponse> | undefined;
    if (!Array.isArray(page?.deadLetters) || typeof page.next !== "number")
      throw new UnexpectedResponseError(200, `GET ${path}: no deadLetters array and numeric next`);
    return page as DeadLettersResponse;
  }

  /**
   * Queues dead letters for redelivery (`POST …/dead-letters/redrive`): all not yet redriven, or those
   * in the original-position range `from`..`to` and/or matching `filters`. `dryRun` only counts them.
   * The live checkpoint never moves.
   */
  async redrive(
    id: string,
    request: RedriveRequest = {},
    options: CallOptions = {},
  ): Promise<RedriveResponse> {
    const path = `${subscriptionPath(id)}/dead-letters/redrive`;
    const answer = (await this.#json("POST", path, request, options)) as Partial<RedriveResponse> | undefined;
    if (typeof answer?.count !== "number")
      throw new UnexpectedResponseError(200, `POST ${path}: no numeric count`);
    return { count: answer.count, dryRun: answer.dryRun ?? request.dryRun === true };
  }

  /**
   * Moves a subscription (`POST /subscriptions/{id}/reset`) to `{ to: "beginning" | "now" }`, a
   * `{ position }` or a `{ time }` (RFC 3339), keeping its id, settings and dead letters. Leases in
   * flight are revoked; `dryRun` only answers the new checkpoint and how many events it would
   * re-deliver. A missing subscription is a 404 HeraldApiError.
   */
  async resetSubscription(
    id: string,
    request: ResetRequest,
    options: CallOptions = {},
  ): Promise<ResetResponse> {
    const path = `${subscriptionPath(id)}/reset`;
    const answer = (await this.#json("POST", path, request, options)) as Partial<ResetResponse> | undefined;
    if (typeof answer?.checkpoint !== "number" || typeof answer.redeliver !== "number")
      throw new UnexpectedResponseError(200, `POST ${path}: no numeric checkpoint and redeliver`);
    return {
      id: answer.id ?? id,
      checkpoint: answer.checkpoint,
      redeliver: answer.redeliver,
      ...(answer.redeliverExact === false ? { redeliverExact: false as const } : {}),
      dryRun: answer.dryRun === true,
    };
  }

  // ---- pull consumers ----

  /**
   * Long-polls up to `max` messages (waits up to `waitMs`, default 1 000, when none are ready); each
   * is leased until acked, nacked or `ackTimeoutMs` passes. Aborting `signal` ends the wait with a
   * TransportError `ABORTED` (messages handed out meanwhile are redelivered after their lease).
   */
  async pull(
    subscription: string,
    options: { max?: number; waitMs?: number; signal?: AbortSignal } = {},
  ): Promise<PulledMessage[]> {
    const waitMs = options.waitMs ?? 1_000;
    const body = (await this.#json(
      "POST",
      `${subscriptionPath(subscription)}/pull`,
      { max: options.max ?? 100, waitMs },
      { timeoutMs: waitMs + this.#timeoutMs, ...(options.signal ? { signal: options.signal } : {}) },
    )) as Partial<PullResponse> | undefined;
    return (body?.messages ?? []).map((m) => ({ ...m, event: decodeJsonEventObject(m.event) }));
  }

  /** Settles pulled messages; ids the server no longer knows (expired, settled) come back in `unknown`. */
  async ack(
    subscription: string,
    ackIds: readonly string[],
    options: CallOptions = {},
  ): Promise<AckResponse> {
    if (ackIds.length === 0) return { acked: 0, unknown: [] };
    const path = `${subscriptionPath(subscription)}/ack`;
    return (await this.#json("POST", path, { ackIds }, options)) as AckResponse;
  }

  /** Hands messages back for redelivery, after `delayMs` or the subscription's backoff. */
  async nack(
    subscription: string,
    ackIds: readonly string[],
    delayMs?: number,
    options: CallOptions = {},
  ): Promise<NackResponse> {
    if (ackIds.length === 0) return { nacked: 0, unknown: [] };
    return (await this.#json(
      "POST",
      `${subscriptionPath(subscription)}/nack`,
      { ackIds, ...(delayMs === undefined ? {} : { delayMs: Math.max(0, Math.round(delayMs)) }) },
      options,
    )) as NackResponse;
  }

  // ---- health ----

  /** The index (`GET /`): the server's name, version and links to health, metrics and the console. */
  async index(options: CallOptions = {}): Promise<IndexResponse> {
    return (await this.#json("GET", "/", undefined, options)) as IndexResponse;
  }

  /** Liveness (`GET /healthz`): the server answers. */
  async health(options: CallOptions = {}): Promise<HealthResponse> {
    return (await this.#json("GET", "/healthz", undefined, options)) as HealthResponse;
  }

  /**
   * Readiness (`GET /readyz`): resolves when the server takes traffic; otherwise a HeraldApiError 503
   * with code `not-ready` whose problem lists `reasons`.
   */
  async ready(options: CallOptions = {}): Promise<ReadyResponse> {
    return (await this.#json("GET", "/readyz", undefined, options)) as ReadyResponse;
  }

  /** Stops consumers (graceful), removes the reply subscription, closes pooled sockets. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#consumers].map((c) => c.stop()));
    await this.#replies?.close();
    await this.#publisher.close();
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
    options: CallOptions & { readonly headers?: Readonly<Record<string, string>> } = {},
  ): Promise<unknown> {
    const headers = {
      ...options.headers,
      ...(body === undefined ? {} : { [CONTENT_TYPE_HEADER]: JSON_MEDIA_TYPE }),
    };
    const response = await this.#control.request({
      method,
      path,
      timeoutMs: options.timeoutMs ?? this.#timeoutMs,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (response.status >= 200 && response.status < 300) return parseJsonBody(response.body);
    throw new HeraldApiError(response.status, problemOf(response));
  }
}

/** Attributes are built (and validated, CloudEventValidationError) here, unless `validate: false`. */
function outgoing(event: EventInput, options: AppendOptions): OutgoingEvent {
  if (event instanceof CloudEvent) return event;
  return options.validate === false ? (event as JsonEventObject) : new CloudEvent(event as CloudEventInit);
}

function toEvent(event: CloudEvent | CloudEventInit): CloudEvent {
  return event instanceof CloudEvent ? event : new CloudEvent(event);
}

function subscriptionPath(id: string): string {
  return `/subscriptions/${encodeURIComponent(id)}`;
}

/** `path?name=value&…` with the members that are set. */
function withQuery(path: string, query: object): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

function isNotFound(error: unknown): boolean {
  return error instanceof HeraldApiError && error.status === 404;
}

function readPage(answer: unknown, what: string): ReadEventsResponse {
  const page = answer as Partial<ReadEventsResponse> | undefined;
  if (!Array.isArray(page?.events) || typeof page.next !== "number")
    throw new UnexpectedResponseError(200, `${what}: no events array and numeric next`);
  return page as ReadEventsResponse;
}
