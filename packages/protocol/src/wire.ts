// The body of every HTTP request and answer of `herald serve`, as JSON-safe types (no code here).
// Source of truth: the server's handlers (packages/server/src/http, src/subscriptions).
import type { ProblemCode } from "./problems.js";

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [member: string]: JsonValue | undefined;
}

/**
 * A CloudEvent in the CloudEvents JSON event format, as it travels inside Herald's bodies
 * (`@herald/cloudevents` decodes it with `decodeJsonEventObject`). Extensions are further members.
 */
export interface JsonEventObject {
  readonly specversion: string;
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
  readonly subject?: string;
  readonly time?: string;
  readonly data?: JsonValue;
  readonly data_base64?: string;
  readonly [extension: string]: JsonValue | undefined;
}

// ---------- append: POST /events, POST /streams/{stream} ----------

/** `Herald-Expected-Version` on `POST /streams/{stream}`. */
export type ExpectedVersion = "any" | "no-stream" | "exists" | number;

/**
 * Where one appended event is; `duplicate` when source+id was already stored (the first copy's place).
 * An event with a future `deliverat` (scheduled delivery) answers `scheduled: true` and `deliverAt`:
 * it is durable but not in the log yet, so `position` is 0 and `version` -1 (`stream` is where it
 * will go); `duplicate` then means a pending copy of source+id was there first (its time is given).
 */
export interface AppendedEvent {
  readonly id: string;
  readonly source: string;
  readonly position: number;
  readonly stream: string;
  readonly version: number;
  readonly duplicate: boolean;
  /** Present (true) only for a pending scheduled event. */
  readonly scheduled?: true;
  /** When it will be released, RFC 3339 (UTC); with `scheduled` only. */
  readonly deliverAt?: string;
}

// ---------- scheduled delivery: GET /scheduled, DELETE /scheduled ----------

/** Query of `GET /scheduled`. */
export interface ListScheduledQuery {
  /** The `next` of the previous page (default 0). */
  readonly after?: number;
  readonly limit?: number;
}

/** One pending scheduled event. */
export interface ScheduledEntry {
  /** Order of scheduling: the paging cursor. */
  readonly seq: number;
  readonly source: string;
  readonly id: string;
  /** The stream it will be appended to. */
  readonly stream: string;
  /** RFC 3339 (UTC). */
  readonly deliverAt: string;
  readonly event: JsonEventObject;
}

/** 200 answer of `GET /scheduled`: pass `after=next` for the following page. */
export interface ListScheduledResponse {
  readonly scheduled: readonly ScheduledEntry[];
  readonly next: number;
}

/** Query of `DELETE /scheduled` (answers 204; 404 `scheduled-not-found`; 409 `scheduled-already-released`). */
export interface CancelScheduledQuery {
  readonly source: string;
  readonly id: string;
}

/** 200 answer of an append: one entry per event, in request order. */
export interface AppendResponse {
  readonly results: readonly AppendedEvent[];
}

// ---------- reads: GET /events, GET /streams/{stream} ----------

/** One stored event in a read page. */
export interface LogEntry {
  readonly position: number;
  readonly stream: string;
  readonly version: number;
  /**
   * When the log committed the event, ms since the epoch. Never decreases as positions grow, so a
   * reader by time may stop at the first entry recorded after its window.
   */
  readonly recordedAt: number;
  readonly event: JsonEventObject;
}

/** Query of `GET /events`. */
export interface ReadEventsQuery {
  /** Position to read after (default 0 = from the start). */
  readonly after?: number;
  readonly limit?: number;
  /** CESQL expression. */
  readonly filter?: string;
  /** Include Herald's `$` streams (default false). */
  readonly system?: boolean;
}

/** 200 answer of `GET /events`: pass `after=next` for the following page. */
export interface ReadEventsResponse {
  readonly events: readonly LogEntry[];
  readonly next: number;
}

export type ReadDirection = "forwards" | "backwards";

/** Query of `GET /streams/{stream}`. */
export interface ReadStreamQuery {
  /** Version to start at (inclusive); backwards reads default to the last version. */
  readonly from?: number;
  readonly limit?: number;
  readonly direction?: ReadDirection;
}

/** 200 answer of `GET /streams/{stream}`: `next` is the `from` of the following page (versions, not positions). */
export interface ReadStreamResponse {
  readonly events: readonly LogEntry[];
  readonly next: number;
}

// ---------- stream list and deletion: GET /streams, DELETE /streams/{stream} ----------

/** Query of `GET /streams`: streams in name order. */
export interface ListStreamsQuery {
  /** Only streams whose name starts with this. */
  readonly prefix?: string;
  /** Page after this stream name (the previous answer's `next`). */
  readonly after?: string;
  readonly limit?: number;
  /** Include Herald's `$` streams (default false). */
  readonly system?: boolean;
  /** Include deleted streams (tombstones) with `deleted: true` (default false). */
  readonly deleted?: boolean;
}

/** One stream in `GET /streams` and the answer of `DELETE /streams/{stream}`. */
export interface StreamSummary {
  readonly stream: string;
  /** Version of the last event (the next append gets version + 1); -1 for a tombstone without events. */
  readonly version: number;
  readonly deleted: boolean;
}

/** 200 answer of `GET /streams`: pass `after=next` for the following page; `next` is null at the end. */
export interface ListStreamsResponse {
  readonly streams: readonly StreamSummary[];
  readonly next: string | null;
}

// ---------- subscriptions: /subscriptions, /subscriptions/{id} ----------

/** A filter in the CloudEvents Subscriptions API dialects. */
export type SubscriptionFilter =
  | { readonly exact: Readonly<Record<string, string>> }
  | { readonly prefix: Readonly<Record<string, string>> }
  | { readonly suffix: Readonly<Record<string, string>> }
  | { readonly all: readonly SubscriptionFilter[] }
  | { readonly any: readonly SubscriptionFilter[] }
  | { readonly not: SubscriptionFilter }
  | { readonly sql: string };

/** Where a new subscription starts; strings: `position:N`, `time:<RFC 3339>`, or a bare position or RFC 3339 time. */
export type StartPositionInit =
  | "beginning"
  | "now"
  | number
  | string
  | { readonly position: number }
  | { readonly time: string };

/**
 * Delivery settings (`config`). Sent typed or as strings; answered as strings only (the Subscriptions
 * API's `config` is a map of strings): integers in decimal, `backoff` as `backoffBaseMs`/`backoffCapMs`,
 * `start` as `beginning`, `now`, `position:N` or `time:<RFC 3339>`.
 */
export interface SubscriptionConfig {
  /** Standard Webhooks signing secret (`whsec_<base64>` or any string); reads show it as `********`. */
  readonly secret?: string;
  readonly contentMode?: "binary" | "structured";
  /** `key` (default): one unacked event per stream in flight; `none`: any order. */
  readonly ordering?: "key" | "none";
  readonly maxInFlight?: number | string;
  readonly ackTimeoutMs?: number | string;
  readonly maxDeliveries?: number | string;
  readonly backoff?: { readonly baseMs?: number | string; readonly capMs?: number | string };
  /** Flat spellings of `backoff.baseMs` / `backoff.capMs`. */
  readonly backoffBaseMs?: number | string;
  readonly backoffCapMs?: number | string;
  /** Push: the time the sink has to answer. */
  readonly timeoutMs?: number | string;
  /** Applied on create only. */
  readonly start?: StartPositionInit;
  /**
   * `stream` (default): events stay for replay. `queue`: an event may be dropped from the log once every
   * subscription matching it is a queue and has acked it (no stream-mode subscription matches it).
   */
  readonly retention?: "stream" | "queue";
}

/** What the server applies for a config member that is not given (one description for server and SDK). */
export const SUBSCRIPTION_CONFIG_DEFAULTS = Object.freeze({
  contentMode: "binary",
  ordering: "key",
  maxInFlight: 64,
  ackTimeoutMs: 30_000,
  maxDeliveries: 10,
  backoffBaseMs: 500,
  backoffCapMs: 60_000,
  timeoutMs: 10_000,
  retention: "stream",
} as const);

export type SubscriptionProtocol = "HTTP" | "MQTT3" | "MQTT5" | "AMQP" | "NATS" | "KAFKA";

/** `protocolsettings` of an HTTP sink. */
export interface HttpProtocolSettings {
  readonly method?: "POST" | "PUT";
  readonly headers?: Readonly<Record<string, string>>;
}

/** `sinkcredential`: how the server authenticates to the sink; secrets are shown as `********`. */
export type SinkCredential =
  | {
      readonly credentialtype: "PLAIN";
      readonly identifier: string;
      readonly secret: string;
      readonly [member: string]: JsonValue | undefined;
    }
  | {
      readonly credentialtype: "ACCESSTOKEN" | "REFRESHTOKEN";
      readonly accesstoken: string;
      readonly refreshtoken?: string;
      readonly [member: string]: JsonValue | undefined;
    };

/** A subscription as the server stores and shows it (members kept verbatim as sent). */
export interface SubscriptionResource {
  readonly id: string;
  /** Always answered (default "HTTP", pull subscriptions too); only HTTP is delivered today. */
  readonly protocol?: SubscriptionProtocol;
  readonly protocolsettings?: HttpProtocolSettings;
  /** Push delivery URL; without it, consumers pull (pull, SSE, WebSocket). */
  readonly sink?: string;
  readonly sinkcredential?: SinkCredential;
  readonly source?: string;
  readonly types?: readonly string[];
  readonly filters?: readonly SubscriptionFilter[];
  readonly config?: SubscriptionConfig;
}

/** `POST /subscriptions` body; without `id` the server assigns a UUID. Answer: 201 SubscriptionResource + Location. */
export type CreateSubscriptionRequest = Omit<SubscriptionResource, "id"> & { readonly id?: string };
/** `PUT /subscriptions/{id}` body; `id`, when given, must match the path. A `********` secret keeps the stored one. */
export type UpdateSubscriptionRequest = CreateSubscriptionRequest;
/** `GET /subscriptions` answers a bare array, sorted by id. */
export type SubscriptionListResponse = readonly SubscriptionResource[];

// ---------- pull consumers: /subscriptions/{id}/pull, /ack, /nack ----------

export interface PullRequest {
  /** 1..1000, default 100. */
  readonly max?: number;
  /** Long-poll time, 0..60000, default 0. */
  readonly waitMs?: number;
}

/** One delivered event; ack or nack it by `ackId`. Also the WebSocket delivery frame. */
export interface PulledMessage {
  readonly ackId: string;
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
  readonly position: number;
  readonly stream: string;
  readonly event: JsonEventObject;
}

export interface PullResponse {
  readonly messages: readonly PulledMessage[];
}

export interface AckRequest {
  readonly ackIds: readonly string[];
}

/** How many were acked; ack ids the server did not know (expired, already settled) are listed in `unknown`. */
export interface AckResponse {
  readonly acked: number;
  readonly unknown: readonly string[];
}

export interface NackRequest {
  readonly ackIds: readonly string[];
  /** Redeliver after this delay (0..86400000) instead of the backoff's. */
  readonly delayMs?: number;
}

export interface NackResponse {
  readonly nacked: number;
  readonly unknown: readonly string[];
}

// Live consumption (SSE, WebSocket): frames and query parameters are in stream-frames.ts.

// ---------- stats, dead letters, redrive ----------

/** `GET /subscriptions/{id}/stats`. */
export interface SubscriptionStats {
  readonly id: string;
  /** Matching events not yet acked. */
  readonly lag: number;
  /** False when the scan was capped and `lag` is an upper bound. */
  readonly lagExact: boolean;
  readonly inFlight: number;
  readonly buffered: number;
  readonly checkpoint: number;
  readonly head: number;
  readonly delivered: number;
  readonly retried: number;
  readonly deadLettered: number;
  readonly redrivePending: number;
  /** Age in seconds (now − recordedAt) of the oldest matching event not yet acked; 0 when nothing lags. */
  readonly lagSeconds: number;
  /** Events acked (or dead-lettered) per second over the last 60 s. */
  readonly deliveryRate: number;
  /** Lag > 0 and no event acked or dead-lettered for `subscriptions.stalledAfter`. */
  readonly stalled: boolean;
  /** When an event was last acked or dead-lettered (RFC 3339); null when none was since the server started. */
  readonly lastProgressAt: string | null;
}

/** `GET /stats/subscriptions`: every subscription's stats, sorted by id. */
export interface SubscriptionsStatsResponse {
  readonly subscriptions: readonly SubscriptionStats[];
}

/** What became of one delivery attempt. */
export type DeliveryOutcome = "acked" | "retry" | "rejected" | "dead-lettered" | "timeout" | "nacked";

/** One entry of a subscription's delivery ledger (`GET /subscriptions/{id}/deliveries`). */
export interface DeliveryAttempt {
  readonly position: number;
  readonly eventId: string;
  readonly source: string;
  readonly stream: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly outcome: DeliveryOutcome;
  /** The sink's HTTP status, when it answered (push). */
  readonly status?: number;
  /** Push: request → answer; pull: lease → ack, nack or timeout. */
  readonly latencyMs: number;
  /** Why it failed (not on `acked`). */
  readonly error?: string;
  /** When the attempt ended (RFC 3339). */
  readonly at: string;
}

export interface DeliveriesQuery {
  /** Only the attempts of the event at this position. */
  readonly position?: number;
  /** 1..1000, default 100. */
  readonly limit?: number;
}

/** `GET /subscriptions/{id}/deliveries`: newest first. */
export interface DeliveriesResponse {
  readonly deliveries: readonly DeliveryAttempt[];
  /** How many attempts the server keeps per subscription (older ones are dropped). */
  readonly capacity: number;
}

/**
 * Why an event was dead-lettered. `max-deliveries`: it failed that many times. `rejected`: the push sink
 * refused it as non-retryable (a 4xx other than 408/429). `non-retryable`: a consumer (SDK router, event
 * source, transport) failed it with a NonRetryableError, e.g. invalid data or refused by authorization.
 */
export type DeadLetterReason = "max-deliveries" | "rejected" | "non-retryable";

/** The data of a `herald.deadletter` event: the original event unchanged plus why it died. */
export interface DeadLetterData {
  readonly subscription: string;
  readonly reason: DeadLetterReason;
  readonly attempts: number;
  /** The sink's last HTTP status, when it answered. */
  readonly lastStatus?: number;
  readonly lastError: string;
  /** RFC 3339. */
  readonly firstAttemptAt: string;
  readonly lastAttemptAt: string;
  /** The original event's position and stream. */
  readonly position: number;
  readonly stream: string;
  readonly event: JsonEventObject;
}

/** A dead letter as `GET /subscriptions/{id}/dead-letters` lists it. */
export interface DeadLetterRecord extends DeadLetterData {
  /** Version in the dead-letter stream: the paging key. */
  readonly version: number;
  /** Position of the dead letter itself. */
  readonly deadLetterPosition: number;
  readonly redriven: boolean;
}

export interface DeadLettersQuery {
  /** Dead-letter version to list after (-1 = from the start). */
  readonly after?: number;
  /** 1..1000. */
  readonly limit?: number;
  /** Only dead letters that died for this reason (a filtered page may be short: follow `next`). */
  readonly reason?: DeadLetterReason;
  /** CESQL over the original event. */
  readonly filter?: string;
}

export interface DeadLettersResponse {
  readonly deadLetters: readonly DeadLetterRecord[];
  /** Pass as `after` for the next page. */
  readonly next: number;
}

/** `POST /subscriptions/{id}/dead-letters/redrive`; an empty body redrives every dead letter not yet redriven. */
export interface RedriveRequest {
  /** Original positions, inclusive. */
  readonly from?: number;
  readonly to?: number;
  readonly filters?: readonly SubscriptionFilter[];
  /** Answer the count only. */
  readonly dryRun?: boolean;
  readonly includeRedriven?: boolean;
}

export interface RedriveResponse {
  readonly count: number;
  readonly dryRun: boolean;
}

/**
 * `POST /subscriptions/{id}/reset`: exactly one target. `position` N re-delivers from N on;
 * `time` from the first event recorded at or after it (RFC 3339).
 */
export type ResetRequest = (
  | { readonly to: "beginning" | "now" }
  | { readonly position: number }
  | { readonly time: string }
) & {
  /** Answer what the reset would do without moving anything. */
  readonly dryRun?: boolean;
};

export interface ResetResponse {
  readonly id: string;
  /** The new checkpoint: every position ≤ it counts as done; delivery goes on after it. */
  readonly checkpoint: number;
  /** Matching events after the checkpoint, up to the head: what will be (re-)delivered. */
  readonly redeliver: number;
  /**
   * Present (false) when the count stopped early (after 0.5 s of counting, at least 10 000 positions
   * in): `redeliver` then counts every position beyond as matching (an upper bound).
   */
  readonly redeliverExact?: false;
  readonly dryRun: boolean;
}

// ---------- health ----------

// ---------- lineage, correlation, health series (the console's queries) ----------

/** Query of `GET /events/lineage`: the event by `source`+`id` or by `position`. */
export interface LineageQuery {
  readonly source?: string;
  readonly id?: string;
  readonly position?: number;
  /** Levels followed through causationid, up and down (1..50, default 10). */
  readonly depth?: number;
  /** Max events in `effects` and in `correlation.events` each (1..1000, default 200). */
  readonly limit?: number;
}

/** A cause or effect in a lineage answer. */
export interface LineageEntry extends LogEntry {
  /** Distance from the event asked about (1 = direct cause or effect). */
  readonly depth: number;
  /** Effects only: position of the event whose id this one names as `causationid`. */
  readonly causedBy?: number;
}

/** A cause named by `causationid` that the server could not find. */
export interface MissingCause {
  readonly id: string;
  /** Position of the event naming it. */
  readonly neededBy: number;
}

export interface LineageCorrelation {
  readonly id: string;
  /** The first events of the correlation in position order. */
  readonly events: readonly LogEntry[];
  /** Pass as `after` to `GET /correlations/{id}` for the rest. */
  readonly next: number;
  /** True when there are more events than `limit`. */
  readonly more: boolean;
}

/** 200 answer of `GET /events/lineage`. */
export interface LineageResponse {
  readonly event: LogEntry;
  /** Nearest first, up to the root. */
  readonly causes: readonly LineageEntry[];
  /** Breadth-first; `causedBy` builds the tree. */
  readonly effects: readonly LineageEntry[];
  readonly correlation: LineageCorrelation | null;
  readonly missing: readonly MissingCause[];
  /** True when `depth` or `limit` cut the effects. */
  readonly truncated: boolean;
}

/** Query of `GET /correlations/{id}`; the answer is a `ReadEventsResponse`. */
export interface CorrelationQuery {
  readonly after?: number;
  readonly limit?: number;
}

/** One 5 s bucket of `GET /stats/series`. */
export interface SeriesPoint {
  /** Bucket start, ms since the epoch. */
  readonly t: number;
  readonly ingested: number;
  /** Events per second over the bucket. */
  readonly ingestRate: number;
  /** Per ingest request, arrival → durable answer; null in an empty bucket. */
  readonly ingestP50Ms: number | null;
  readonly ingestP99Ms: number | null;
  readonly delivered: number;
  readonly deliveryRate: number;
  readonly deliveryP50Ms: number | null;
  readonly deliveryP99Ms: number | null;
  /** Failed delivery attempts (retried, rejected, timed out, nacked). */
  readonly failed: number;
}

export interface ServerSummary {
  readonly version: string;
  /** `sqlite`, `memory` or `postgres`. */
  readonly storage: string;
  readonly nodeId: string;
  /** RFC 3339. */
  readonly startedAt: string;
  /** Position of the newest durable event. */
  readonly head: number;
}

/** 200 answer of `GET /stats/series`: oldest point first. */
export interface StatsSeriesResponse {
  readonly server: ServerSummary;
  readonly intervalMs: number;
  readonly points: readonly SeriesPoint[];
}

/** `GET /healthz`. */
export interface HealthResponse {
  readonly status: "ok";
  /** The server's version (its package version). */
  readonly version: string;
}

/** `GET /readyz` when ready; otherwise a `not-ready` problem with `reasons`. */
export interface ReadyResponse {
  readonly status: "ready";
  readonly version: string;
  /** The log's storage: `sqlite`, `memory` or `postgres`. */
  readonly storage?: string;
  /** This instance's node id (setting `nodeId`). */
  readonly nodeId?: string;
  /** With storage `postgres`: the database URL, its password redacted. */
  readonly database?: string;
  /** With storage `postgres`: the schema of Herald's tables. */
  readonly schema?: string;
  /** With storage `postgres`: the instances sharing the database and what this one delivers. */
  readonly cluster?: ClusterStatus;
  /**
   * Open transactions older than the warning age (from pg_stat_activity): they hold back
   * PostgreSQL's cleanup and, while they hold the log's head row, every append.
   */
  readonly oldTransactions?: readonly OldTransaction[];
  /**
   * The log's identity: which log this is and which copy of it (a restore or copy of the database
   * starts a new `epoch` at `epochStart`, the head it held). See docs/backup-restore.md.
   */
  readonly log?: LogIdentityStatus;
  /** Subscriptions whose stored checkpoint was stale at start, and what was done about it. */
  readonly staleCheckpoints?: readonly StaleCheckpoint[];
}

/** `/readyz` `log`. */
export interface LogIdentityStatus {
  readonly id: string;
  readonly epoch: string;
  readonly epochStart: number;
  /** Set when this copy was detected as a restore or copy of the database: the epoch before. */
  readonly previousEpoch?: string;
}

/** `/readyz` `staleCheckpoints`: one subscription whose checkpoint the log cannot vouch for. */
export interface StaleCheckpoint {
  readonly subscription: string;
  /** The stored checkpoint (the highest of its partitions in a cluster). */
  readonly checkpoint: number;
  /**
   * `ahead`: beyond what this copy of the log holds (restored from an older backup): positions
   * above it will be given to new events the checkpoint would skip. `foreign`: stored for another
   * log.
   */
  readonly reason: "ahead" | "foreign";
  /** `held`: not delivered until reset (setting `staleCheckpoints: refuse`); `rewound`: moved to `to`. */
  readonly action: "held" | "rewound";
  readonly to?: number;
}

/** `/readyz` `cluster`: what this instance knows of the cluster. */
export interface ClusterStatus {
  /** Live instances (their heartbeats), this one included, sorted. */
  readonly nodes: readonly string[];
  /** Partitions per subscription. */
  readonly partitions: number;
  /** Lease duration (ms). */
  readonly leaseMs: number;
  /** Per subscription: the partitions this instance delivers now. */
  readonly owned: Readonly<Record<string, readonly number[]>>;
}

/** One long-open transaction, as pg_stat_activity shows it. */
export interface OldTransaction {
  readonly pid: number;
  readonly applicationName: string;
  readonly state: string;
  /** Seconds since the transaction began. */
  readonly ageSeconds: number;
  /** Whether it holds a lock on the log's head row (then appends wait for it). */
  readonly blocksAppends: boolean;
}

/** `GET /`: what answers here and where to look next (paths on the same server, or absolute URLs). */
export interface IndexResponse {
  readonly name: "herald";
  readonly version: string;
  readonly links: IndexLinks;
}

export interface IndexLinks {
  readonly health: string;
  readonly ready: string;
  readonly metrics: string;
  /** The user docs, when the server knows where they are published. */
  readonly docs?: string;
  /** The web console, when the server hosts one. */
  readonly console?: string;
}

/**
 * `GET /console/session` (public): what the API key sent (if any) may do, so the console shows only what
 * the server would allow, without probing routes into 401/403 answers. `auth: false`: the server has no
 * API keys, every call is allowed. `key`: `none` (no `Authorization` sent), `valid`, or `invalid` (unknown
 * key: `scopes` is empty). It tells nothing a refused call would not.
 */
export interface ConsoleSessionResponse {
  readonly auth: boolean;
  readonly key: "none" | "valid" | "invalid";
  readonly scopes: readonly ("publish" | "consume" | "admin")[];
}

// ---------- errors ----------

/** One invalid field: an attribute name, a JSON pointer, a header or query parameter. */
export interface ProblemFieldError {
  readonly field: string;
  readonly reason: string;
}

/**
 * Every error answer (`application/problem+json`, RFC 9457). Branch on `code`; `type` is
 * `https://herald.dev/problems/<code>`, `title` the catalog's. Extension members per code, e.g.
 * `stream`/`expectedVersion`/`actualVersion` (stream-version-conflict), `requiredScope` (forbidden),
 * `reasons` (not-ready).
 */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ProblemCode;
  readonly errors?: readonly ProblemFieldError[];
  readonly [extension: string]: unknown;
}

// ---------- schema registry: /schemas ----------

/** How a new version of an event type's data schema must relate to the earlier ones. */
export type CompatibilityMode =
  | "BACKWARD"
  | "BACKWARD_TRANSITIVE"
  | "FORWARD"
  | "FORWARD_TRANSITIVE"
  | "FULL"
  | "FULL_TRANSITIVE"
  | "NONE";

/** One reason a schema cannot be registered: where in which schema, the rule, and why. */
export interface BreakingChange {
  /** The registered version the new schema was judged against. */
  readonly version: number;
  /** JSON pointer into the READER's schema (the new one for BACKWARD, the old one for FORWARD). */
  readonly path: string;
  /** The rule's stable name (docs/schema-registry.md), e.g. `required-added`, `type-narrowed`. */
  readonly rule: string;
  readonly reason: string;
}

/** `PUT /schemas/{type}` answer (201 when a version was created, 200 when the schema was already one). */
export interface RegisterSchemaResponse {
  readonly type: string;
  readonly version: number;
  /** What events of this version carry as `dataschema` (`herald:/schemas/{type}/versions/{n}`). */
  readonly dataschema: string;
  /** False when the same schema was already registered (the answer is that version). */
  readonly created: boolean;
}

/** `GET /schemas/{type}/versions/{n}`, and the latest one for `GET /schemas/{type}`. */
export interface SchemaVersionResponse {
  readonly type: string;
  readonly version: number;
  readonly dataschema: string;
  readonly schema: JsonValue;
  /** ISO 8601, when it was registered. */
  readonly registeredAt: string;
  /** Every version of the type, oldest first (on `GET /schemas/{type}`). */
  readonly versions?: readonly number[];
  /** The compatibility mode in force for the type. */
  readonly compatibility?: CompatibilityMode;
}

/** One type in `GET /schemas`. */
export interface SchemaSummary {
  readonly type: string;
  readonly latestVersion: number;
  readonly compatibility: CompatibilityMode;
}

export interface SchemaListResponse {
  readonly schemas: readonly SchemaSummary[];
}

/** `PUT /schemas/{type}/config` body; `compatibility: null` falls back to the server-wide mode. */
export interface SchemaConfigRequest {
  readonly compatibility: CompatibilityMode | null;
}

export interface SchemaConfigResponse {
  readonly type: string;
  readonly compatibility: CompatibilityMode;
  /** `type` when set for this type, `server` when it is the server-wide setting. */
  readonly from: "type" | "server";
}
