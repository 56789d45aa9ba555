// Event definitions: one per event, holding its trigger, handler, input and output schemas and
// authorization. `defineEventSource` takes a typed spec (TypeBox schemas give the handler's types);
// the YAML loader builds the same definitions from files. Sources and document generators read only
// the definitions, so both forms behave alike.
import type { CloudEvent } from "@herald/cloudevents";
import type {
  DataIssue,
  EventDefinition,
  HandlerContext,
  HandlerResult,
  HeraldClient,
  SubscriptionInit,
  TypedEvent,
} from "@herald/sdk";
import type { Static, TSchema } from "@sinclair/typebox";
import type { JsonSchema } from "./schema.js";
import {
  type CronTrigger,
  type HeraldTrigger,
  type HttpTrigger,
  parseTriggerKey,
  type Trigger,
  type TransportTrigger,
  triggerKey,
  type WsTrigger,
} from "./trigger.js";

/** Who is calling: an authenticated caller (API key, JWT), nobody, or an event's `source` (async). */
export interface Principal {
  readonly kind: "api-key" | "jwt" | "anonymous" | "event-source";
  readonly subject: string;
  readonly scopes: readonly string[];
  /** The JWT's claims. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** Declarative checks before the handler (HTTP and WebSocket). */
export interface AuthRequirement {
  /** A credential is needed (default: true when the app has an authenticator, else false). */
  readonly required?: boolean;
  /** Every one of these scopes is needed (403 `forbidden` naming the first missing one). */
  readonly scopes?: readonly string[];
}

/** What synchronous handlers get beside their input. */
export interface SourceContext {
  /** The definition's key (`http.post./orders`). */
  readonly key: string;
  readonly principal: Principal;
  /** Aborted when the caller goes away or the app stops. */
  readonly signal: AbortSignal;
  /** The app's Herald client, when it has one. */
  readonly client: HeraldClient | undefined;
}

type StaticOr<S, Default> = S extends TSchema ? Static<S> : Default;

// ---------- validation-error hooks ----------

/** One invalid field of an HTTP input (`body/qty`, `params/id`…), as the default 400 lists it. */
export interface InputError {
  readonly field: string;
  readonly reason: string;
}

/**
 * HTTP: what to answer when the input does not match its schemas. Return an answer to send it (its
 * status and body are the hook's: output schemas do not apply), or undefined for the default 400
 * `input-invalid` problem listing each field. The outcome is counted `invalid` either way.
 */
export type HttpInvalidHook = (
  errors: readonly InputError[],
  ctx: { readonly key: string; readonly principal: Principal },
) => HttpAnswer | undefined | Promise<HttpAnswer | undefined>;

/**
 * Asynchronous sources: what becomes of an event whose `data` does not match its schema.
 * `dead-letter` (the default) with the validation errors; `nack` to retry it later (a producer ahead of
 * this consumer's schema); `ack` to drop it on purpose (counted `invalid` and logged, never silent).
 */
export type AsyncInvalidDecision = "dead-letter" | "nack" | "ack";
export type AsyncInvalidHook = (
  event: CloudEvent,
  issues: readonly DataIssue[],
) => AsyncInvalidDecision | Promise<AsyncInvalidDecision>;

/**
 * WebSocket: what to do with a message whose `data` does not match its schema. `{ data }` replies
 * `{ "id", "data" }` instead of the default `{ "id", "problem" }` (`input-invalid` listing each
 * field); `{ close }` closes the connection with that code (4000–4999 or 1008) and reason; undefined
 * keeps the default. The outcome is counted `invalid` either way; the output schema does not apply.
 */
export type WsInvalidAnswer =
  | { readonly data: unknown }
  | { readonly close: { readonly code: number; readonly reason?: string } };
export type WsInvalidHook = (
  errors: readonly InputError[],
  ctx: { readonly key: string; readonly principal: Principal },
) => WsInvalidAnswer | undefined | Promise<WsInvalidAnswer | undefined>;

/** Source-level hooks (AppOptions.onInvalid): used by every definition that has no `onInvalid` of its own. */
export interface InvalidHooks {
  readonly http?: HttpInvalidHook;
  readonly ws?: WsInvalidHook;
  readonly async?: AsyncInvalidHook;
}

// ---------- HTTP ----------

export interface HttpInputSchemas {
  readonly body?: TSchema;
  readonly params?: TSchema;
  readonly query?: TSchema;
  readonly headers?: TSchema;
}
/** Output schemas per status: `{ 201: Order, 404: NotFound }`. */
export type HttpOutputSchemas = Readonly<Record<number, TSchema>>;

export interface HttpInput<I extends HttpInputSchemas = HttpInputSchemas> {
  readonly body: StaticOr<I["body"], unknown>;
  readonly params: StaticOr<I["params"], Readonly<Record<string, string>>>;
  readonly query: StaticOr<I["query"], Readonly<Record<string, string | string[]>>>;
  readonly headers: StaticOr<I["headers"], Readonly<Record<string, string | string[] | undefined>>>;
}

/** What an HTTP handler answers; with output schemas, only their statuses and bodies type-check. */
export interface HttpAnswer {
  readonly status?: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}
export type TypedHttpAnswer<O extends HttpOutputSchemas> = [keyof O] extends [never]
  ? HttpAnswer
  : {
      [K in keyof O & number]: {
        readonly status: K;
        readonly body: Static<O[K]>;
        readonly headers?: Readonly<Record<string, string>>;
      };
    }[keyof O & number];

interface Described {
  readonly summary?: string;
  readonly description?: string;
  readonly tags?: readonly string[];
}

export interface HttpEventSpec<I extends HttpInputSchemas, O extends HttpOutputSchemas> extends Described {
  readonly trigger: HttpTrigger | `http.${string}`;
  readonly input?: I;
  readonly output?: O;
  readonly auth?: AuthRequirement;
  readonly authorize?: (input: HttpInput<I>, ctx: SourceContext) => boolean | Promise<boolean>;
  /** Invalid input: this event's answer instead of the default 400 (see HttpInvalidHook). */
  readonly onInvalid?: HttpInvalidHook;
  readonly handler: (
    input: HttpInput<I>,
    ctx: SourceContext,
  ) => TypedHttpAnswer<NoInfer<O>> | Promise<TypedHttpAnswer<NoInfer<O>>>;
}

// ---------- WebSocket ----------

export interface WsEventSpec<M extends TSchema | undefined, R extends TSchema | undefined> extends Described {
  readonly trigger: WsTrigger | `ws.${string}`;
  readonly input?: { readonly message?: M };
  readonly output?: { readonly message?: R };
  readonly auth?: AuthRequirement;
  readonly authorize?: (message: StaticOr<M, unknown>, ctx: SourceContext) => boolean | Promise<boolean>;
  /** Invalid message data: this event's answer instead of the default problem (see WsInvalidHook). */
  readonly onInvalid?: WsInvalidHook;
  /**
   * Returns the reply's data, undefined for no reply, or an AsyncIterable (an async generator) for a
   * streamed reply: each item is a `{ id, data }` frame, then `{ id, done: true }`; the socket closing
   * aborts `ctx.signal` and calls the iterator's `return()`.
   */
  readonly handler: (
    message: StaticOr<M, unknown>,
    ctx: SourceContext,
  ) =>
    | StaticOr<R, unknown>
    | void
    | AsyncIterable<StaticOr<R, unknown>>
    // biome-ignore lint/suspicious/noConfusingVoidType: a handler that sends no reply returns nothing
    | Promise<StaticOr<R, unknown> | void | AsyncIterable<StaticOr<R, unknown>>>;
}

// ---------- cron ----------

/** Nothing (done) or a reply event, as SDK handlers return. */
// biome-ignore lint/suspicious/noConfusingVoidType: handlers may return nothing at all
export type AsyncResult = HandlerResult | void | Promise<HandlerResult | void>;

/** The data of a cron firing event. */
export interface CronFiring {
  readonly schedule: string;
  readonly timezone: string;
  /** The scheduled time (RFC 3339), not the time the timer went off. */
  readonly scheduledTime: string;
}

/**
 * Where a firing goes. `local`: the handler runs in this process. `broker`: every instance publishes
 * the firing (same id) to `stream`; the broker keeps one copy, and the one subscription `subscription`
 * (ensured at start, pull, shared by the instances) hands it to one instance's handler.
 */
export type CronDelivery =
  | { readonly mode: "local"; readonly maxAttempts?: number }
  | { readonly mode: "broker"; readonly stream: string; readonly subscription: string };

export interface CronEventSpec extends Described {
  readonly trigger: CronTrigger | `cron.${string}`;
  /** Names the job in the firing's source and id (default: the key). */
  readonly name?: string;
  /** `skip` (default): a firing due while the previous run still runs is skipped (logged, counted). */
  readonly overlap?: "skip" | "allow";
  /** After downtime (last firing known to the state store): `skip` (default) or `fire-once`. */
  readonly missed?: "skip" | "fire-once";
  readonly deliver?: CronDelivery;
  readonly handler: (event: CloudEvent<CronFiring>, ctx: HandlerContext) => AsyncResult;
}

// ---------- Herald subscriptions ----------

/** Who may emit what: checked on every event of an asynchronous source (refused: dead letter). */
export type EventAuthorize = (event: CloudEvent, principal: Principal) => boolean | Promise<boolean>;

export interface HeraldEventSpec<T> extends Described {
  readonly trigger: HeraldTrigger | `herald.${string}`;
  /** The event (sdk `defineEvent`): its type selects the events and its schema validates `data`. */
  readonly event?: EventDefinition<T>;
  /** Without `event`: the types handled (default: every type) and the data schema. */
  readonly types?: readonly string[];
  readonly data?: TSchema;
  /** Schema of the reply event's data, when the handler replies. */
  readonly output?: TSchema;
  /** pull (default: the SDK's consumer) or push (a Receiver; the subscription's sink must point at it). */
  readonly mode?: "pull" | "push";
  /** An event of the subscription no definition takes: dead-lettered (default) or nacked for later. */
  readonly unmatched?: "dead-letter" | "nack";
  readonly authorize?: EventAuthorize;
  /** Invalid data: dead-letter (default), nack or ack (see AsyncInvalidHook). */
  readonly onInvalid?: AsyncInvalidHook;
  /**
   * Non-retryable failures (invalid data, refused, unmatched, invalid reply, NonRetryableError) are
   * written to this stream with the reason and acked at once. Default: the subscription's own policy
   * (push: dead-lettered by the broker at once; pull: nacked until its maxDeliveries).
   */
  readonly deadLetterStream?: string;
  /** Created (or checked) at start; for push, the sink is the app's receiver. */
  readonly subscription?: Omit<SubscriptionInit, "id" | "sink">;
  readonly handler: (event: TypedEvent<T>, ctx: HandlerContext) => AsyncResult;
}

// ---------- transports (NATS, RabbitMQ, Redis Streams, MQTT) ----------

/**
 * An event source over an engine, run by the SDK transport contract (AppOptions.transports names the
 * Transport of each engine). The same outcome model as Herald subscriptions: ack on success, nack with
 * delay on RetryableError (else backoff), non-retryable failures (invalid data, refused, unmatched,
 * NonRetryableError) dead-lettered at once into the transport's dead letters, with the reason.
 */
export interface TransportEventSpec<T> extends Described {
  readonly trigger: TransportTrigger | `${"nats" | "redis" | "rabbitmq" | "mqtt"}.${string}`;
  readonly event?: EventDefinition<T>;
  readonly types?: readonly string[];
  readonly data?: TSchema;
  readonly output?: TSchema;
  readonly unmatched?: "dead-letter" | "nack";
  readonly authorize?: EventAuthorize;
  /** Invalid data: dead-letter (default), nack or ack (see AsyncInvalidHook). */
  readonly onInvalid?: AsyncInvalidHook;
  /** Handlers at once in this member (default: the transport's, 16). */
  readonly maxInFlight?: number;
  /** Dead-letter retryable failures after this many deliveries (default: the transport's, 10). */
  readonly maxDeliveries?: number;
  /** Topic for events the handler emits and its reply (default: none; emitting then fails the handling). */
  readonly emitTo?: string;
  readonly handler: (event: TypedEvent<T>, ctx: HandlerContext) => AsyncResult;
}

// ---------- the normalized definitions ----------

/** The type-erased handler and authorize every source calls. */
// biome-ignore lint/suspicious/noExplicitAny: erased at the boundary between typed specs and sources
type Erased = (...args: any[]) => any;

export interface HttpDefinition extends Described {
  readonly kind: "http";
  readonly key: string;
  readonly trigger: HttpTrigger;
  readonly input: Readonly<Partial<Record<"body" | "params" | "query" | "headers", JsonSchema>>>;
  readonly output: Readonly<Record<string, JsonSchema>> | undefined;
  readonly auth: AuthRequirement | undefined;
  readonly authorize: Erased | undefined;
  readonly onInvalid: HttpInvalidHook | undefined;
  readonly handler: Erased;
}
export interface WsDefinition extends Described {
  readonly kind: "ws";
  readonly key: string;
  readonly trigger: WsTrigger;
  readonly input: JsonSchema | undefined;
  readonly output: JsonSchema | undefined;
  readonly auth: AuthRequirement | undefined;
  readonly authorize: Erased | undefined;
  readonly onInvalid: WsInvalidHook | undefined;
  readonly handler: Erased;
}
export interface CronDefinition extends Described {
  readonly kind: "cron";
  readonly key: string;
  readonly trigger: CronTrigger;
  readonly name: string;
  readonly overlap: "skip" | "allow";
  readonly missed: "skip" | "fire-once";
  readonly deliver: CronDelivery;
  readonly handler: Erased;
}
export interface HeraldDefinition extends Described {
  readonly kind: "herald";
  readonly key: string;
  readonly trigger: HeraldTrigger;
  readonly event: EventDefinition | undefined;
  readonly types: readonly string[] | undefined;
  readonly data: JsonSchema | undefined;
  readonly output: JsonSchema | undefined;
  readonly mode: "pull" | "push";
  readonly unmatched: "dead-letter" | "nack";
  readonly authorize: EventAuthorize | undefined;
  readonly onInvalid: AsyncInvalidHook | undefined;
  readonly deadLetterStream: string | undefined;
  readonly subscription: Omit<SubscriptionInit, "id" | "sink"> | undefined;
  readonly handler: Erased;
}
export interface TransportDefinition extends Described {
  readonly kind: "transport";
  readonly key: string;
  readonly trigger: TransportTrigger;
  readonly event: EventDefinition | undefined;
  readonly types: readonly string[] | undefined;
  readonly data: JsonSchema | undefined;
  readonly output: JsonSchema | undefined;
  readonly unmatched: "dead-letter" | "nack";
  readonly authorize: EventAuthorize | undefined;
  readonly onInvalid: AsyncInvalidHook | undefined;
  readonly maxInFlight: number | undefined;
  readonly maxDeliveries: number | undefined;
  readonly emitTo: string | undefined;
  readonly handler: Erased;
}
export type EventSourceDefinition =
  | HttpDefinition
  | WsDefinition
  | CronDefinition
  | HeraldDefinition
  | TransportDefinition;
/** What the asynchronous outcome model reads of a definition (Herald subscriptions and transports). */
export type AsyncDefinition = HeraldDefinition | TransportDefinition;

function resolveTrigger(trigger: Trigger | string): Trigger {
  return typeof trigger === "string" ? parseTriggerKey(trigger) : trigger;
}

/** Declares one event: its trigger, handler, schemas and authorization (typed by the TypeBox schemas). */
export function defineEventSource<
  I extends HttpInputSchemas = HttpInputSchemas,
  O extends HttpOutputSchemas = Record<never, never>,
>(spec: HttpEventSpec<I, O>): HttpDefinition;
export function defineEventSource<
  M extends TSchema | undefined = undefined,
  R extends TSchema | undefined = undefined,
>(spec: WsEventSpec<M, R>): WsDefinition;
export function defineEventSource(spec: CronEventSpec): CronDefinition;
export function defineEventSource<T = unknown>(spec: HeraldEventSpec<T>): HeraldDefinition;
export function defineEventSource<T = unknown>(spec: TransportEventSpec<T>): TransportDefinition;
export function defineEventSource(
  spec:
    | HttpEventSpec<HttpInputSchemas, HttpOutputSchemas>
    | WsEventSpec<TSchema, TSchema>
    | CronEventSpec
    | HeraldEventSpec<unknown>
    | TransportEventSpec<unknown>,
): EventSourceDefinition {
  const trigger = resolveTrigger(spec.trigger);
  const key = triggerKey(trigger);
  const described = { summary: spec.summary, description: spec.description, tags: spec.tags };
  switch (trigger.kind) {
    case "http": {
      const s = spec as HttpEventSpec<HttpInputSchemas, HttpOutputSchemas>;
      return {
        kind: "http",
        key,
        trigger,
        ...described,
        input: { ...s.input },
        output: s.output as Readonly<Record<string, JsonSchema>> | undefined,
        auth: s.auth,
        authorize: s.authorize,
        onInvalid: s.onInvalid,
        handler: s.handler,
      };
    }
    case "ws": {
      const s = spec as WsEventSpec<TSchema, TSchema>;
      return {
        kind: "ws",
        key,
        trigger,
        ...described,
        input: s.input?.message,
        output: s.output?.message,
        auth: s.auth,
        authorize: s.authorize,
        onInvalid: s.onInvalid,
        handler: s.handler,
      };
    }
    case "cron": {
      const s = spec as CronEventSpec;
      return {
        kind: "cron",
        key,
        trigger,
        ...described,
        name: s.name ?? key,
        overlap: s.overlap ?? "skip",
        missed: s.missed ?? "skip",
        deliver: s.deliver ?? { mode: "local" },
        handler: s.handler,
      };
    }
    case "herald": {
      const s = spec as HeraldEventSpec<unknown>;
      return {
        kind: "herald",
        key,
        trigger,
        ...described,
        event: s.event,
        types: s.event ? [s.event.type] : s.types,
        data: s.event ? s.event.schema : s.data,
        output: s.output,
        mode: s.mode ?? "pull",
        unmatched: s.unmatched ?? "dead-letter",
        authorize: s.authorize,
        onInvalid: s.onInvalid,
        deadLetterStream: s.deadLetterStream,
        subscription: s.subscription,
        handler: s.handler,
      };
    }
    case "transport": {
      const s = spec as TransportEventSpec<unknown>;
      return {
        kind: "transport",
        key,
        trigger,
        ...described,
        event: s.event,
        types: s.event ? [s.event.type] : s.types,
        data: s.event ? s.event.schema : s.data,
        output: s.output,
        unmatched: s.unmatched ?? "dead-letter",
        authorize: s.authorize,
        onInvalid: s.onInvalid,
        maxInFlight: s.maxInFlight,
        maxDeliveries: s.maxDeliveries,
        emitTo: s.emitTo,
        handler: s.handler,
      };
    }
  }
}
