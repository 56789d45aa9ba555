// The problem catalog: one row per refusal Herald answers. Clients branch on `code`; `status` and
// `title` come from here, `detail` is per answer. docs/errors.md has one row per code (a test checks).

/** One catalog row. */
export interface ProblemDefinition {
  readonly status: number;
  /** Short and stable: the same for every answer with this code. */
  readonly title: string;
  /** When the server answers it (docs/errors.md says what a client should do). */
  readonly description: string;
  /**
   * Who answers it: `herald serve` (`server`), or an app built with @herald/service (`event-source`:
   * its HTTP and WebSocket sources). The server's catalog test provokes every `server` code.
   */
  readonly answeredBy: "server" | "event-source";
}

const row = (
  status: number,
  title: string,
  description: string,
  answeredBy: ProblemDefinition["answeredBy"] = "server",
): ProblemDefinition => Object.freeze({ status, title, description, answeredBy });

/** Every problem code → status, title, description. Frozen; rows are never renamed, only added. */
export const PROBLEMS = Object.freeze({
  // 400: the request is malformed.
  "bad-request": row(
    400,
    "Bad Request",
    "The HTTP request itself is malformed: bad framing before routing, or a body that ended before its length.",
  ),
  "json-invalid": row(400, "Invalid JSON", "A JSON request body does not parse."),
  "body-invalid": row(
    400,
    "Invalid Request Body",
    "A pull, ack or nack body (or WebSocket command), or a schema config body, is not a JSON object of the documented shape.",
  ),
  "event-malformed": row(
    400,
    "Malformed CloudEvent",
    "The request cannot be read as CloudEvents in any mode (bad JSON, bad batch, bad binary headers).",
  ),
  "attribute-too-large": row(
    400,
    "Attribute Too Large",
    "A context attribute or extension value is longer than the attribute size limit.",
  ),
  "extension-name-too-long": row(
    400,
    "Extension Name Too Long",
    "An extension attribute's name is longer than the name length limit.",
  ),
  "system-stream-reserved": row(
    400,
    "System Stream Reserved",
    "The named or derived stream starts with `$`: such streams belong to Herald.",
  ),
  "stream-name-invalid": row(400, "Invalid Stream Name", "The stream name in the path is empty or too long."),
  "expected-version-invalid": row(
    400,
    "Invalid Expected Version",
    "Herald-Expected-Version is not any, no-stream, exists or a version number.",
  ),
  "expected-version-not-allowed": row(
    400,
    "Expected Version Needs a Stream",
    "Herald-Expected-Version was sent to POST /events; it is only allowed on POST /streams/{stream}.",
  ),
  "query-invalid": row(
    400,
    "Invalid Query Parameter",
    "A query parameter is out of range or not of its type.",
  ),
  "filter-invalid": row(
    400,
    "Invalid Filter",
    "The `filter` query parameter is not a valid CESQL expression.",
  ),
  "path-invalid": row(400, "Invalid Path", "A path segment is not valid percent-encoding."),
  "subscription-invalid": row(
    400,
    "Invalid Subscription",
    "A subscription create or update body is invalid; `errors` lists every invalid member.",
  ),
  "sink-refused": row(
    400,
    "Sink Refused",
    "The sink URL is refused by the server's sink policy (e.g. link-local, metadata or private hosts).",
  ),
  "bridge-sink-invalid": row(
    400,
    "Invalid Engine Sink",
    "A subscription's sink is an engine URL (nats, amqp, amqps, redis, rediss, mqtt, mqtts) that is not valid; `errors` names the bad part (`/sink#host`, `/sink#path`, `/sink#query`…).",
  ),
  "redrive-invalid": row(
    400,
    "Invalid Redrive Request",
    "A redrive body is invalid; `errors` lists each member.",
  ),
  "reset-invalid": row(
    400,
    "Invalid Reset Request",
    "A subscription reset body is invalid: it needs exactly one of `to` (`beginning` or `now`), `position` or `time`; `errors` lists each member.",
  ),
  "scheduled-batch-mixed": row(
    400,
    "Scheduled Batch Mixed",
    "A batch holds events with a future `deliverat` and events without one; a batch is atomic, so it is scheduled or appended whole.",
  ),
  "scheduled-expected-version": row(
    400,
    "Scheduled Event With Expected Version",
    "An event with a future `deliverat` was sent with a Herald-Expected-Version other than `any`: its version is only known when it is released.",
  ),
  "schema-invalid": row(
    400,
    "Invalid Schema",
    "A `PUT /schemas/{type}` body is not a JSON Schema Herald can compile and judge (e.g. a `$ref` to another document); `errors` says where.",
  ),
  // 401 / 403: who is calling.
  unauthorized: row(401, "Unauthorized", "The endpoint needs an API key and none was sent."),
  "api-key-invalid": row(401, "Invalid API Key", "The API key sent is not one the server knows."),
  forbidden: row(403, "Forbidden", "The API key lacks the scope the endpoint needs (`requiredScope`)."),
  "event-type-forbidden": row(
    403,
    "Event Type Forbidden",
    "The API key may only publish event types with certain prefixes, and an event's type has none of them.",
  ),
  // 404 / 405 / 408.
  "route-not-found": row(404, "Not Found", "No endpoint has this path."),
  "stream-not-found": row(404, "Stream Not Found", "The stream has no events or was deleted."),
  "subscription-not-found": row(404, "Subscription Not Found", "No subscription has this id."),
  "event-not-found": row(
    404,
    "Event Not Found",
    "The lineage query names no stored event: no event at that position, or none with that source+id among the events the log can find by it (pass its position instead).",
  ),
  "scheduled-not-found": row(
    404,
    "Scheduled Event Not Found",
    "No pending scheduled event and no stored event has this source and id.",
  ),
  "schema-not-found": row(
    404,
    "Schema Not Found",
    "No schema is registered for this event type, or not this version.",
  ),
  "method-not-allowed": row(
    405,
    "Method Not Allowed",
    "The path exists but not with this method (see `Allow`).",
  ),
  "request-timeout": row(408, "Request Timeout", "The request (headers or body) did not arrive in time."),
  // 409: the request conflicts with the current state.
  "scheduled-already-released": row(
    409,
    "Scheduled Event Already Released",
    "The event with this source and id is already in the log (its time came, or it was published without delay): it can no longer be cancelled.",
  ),
  "stream-version-conflict": row(
    409,
    "Stream Version Conflict",
    "The stream is not at the expected version; `actualVersion` says where it is. Nothing was appended.",
  ),
  "stream-deleted": row(409, "Stream Deleted", "An append named a stream that was deleted."),
  "hard-delete-disabled": row(
    409,
    "Hard Delete Disabled",
    "A hard stream delete was asked for, but the server's `retention.hardDelete` setting is false.",
  ),
  "duplicate-subscription": row(409, "Subscription Exists", "A subscription with this id already exists."),
  "subscription-mode-conflict": row(
    409,
    "Subscription Mode Conflict",
    "A consumer operation does not fit the subscription (e.g. pulling from a push subscription).",
  ),
  "schema-incompatible": row(
    409,
    "Schema Incompatible",
    "The new schema breaks the type's compatibility mode; `errors` lists each breaking change (`version`, `path`, `rule`, `reason`).",
  ),
  // 413 / 415 / 422 / 431: the body or headers are not acceptable.
  "payload-too-large": row(413, "Payload Too Large", "The request body is larger than the body size limit."),
  "batch-too-large": row(413, "Batch Too Large", "A batch holds more events than the batch limit."),
  "unsupported-media-type": row(
    415,
    "Unsupported Media Type",
    "The Content-Type is not one the endpoint reads.",
  ),
  "unsupported-encoding": row(
    415,
    "Unsupported Encoding",
    "The Content-Encoding is not one the server decodes (gzip, deflate, br).",
  ),
  "event-invalid": row(
    422,
    "Invalid Event",
    "The request is read but an event is not a valid CloudEvent; `errors` names each attribute.",
  ),
  "event-schema-mismatch": row(
    422,
    "Event Schema Mismatch",
    "With schema enforcement on, an event's `data` does not validate against its type's registered schema (the latest, or the version its `dataschema` names); `errors` lists each field.",
  ),
  "json-too-deep": row(422, "JSON Too Deep", "A JSON body nests deeper than the nesting limit."),
  "headers-too-large": row(
    431,
    "Request Header Fields Too Large",
    "The request's headers are larger than the server accepts.",
  ),
  // Answered by event sources (@herald/service apps), not by `herald serve`.
  "input-invalid": row(
    400,
    "Invalid Input",
    "An event source's input (HTTP body, path parameters, query or headers, or a WebSocket message) does not match the event's schema; `errors` lists each field.",
    "event-source",
  ),
  "token-invalid": row(
    401,
    "Invalid Token",
    "The bearer token (JWT) is malformed, expired, badly signed, or for another issuer or audience.",
    "event-source",
  ),
  "authorization-refused": row(
    403,
    "Authorization Refused",
    "The event's `authorize` check refused the caller for this input.",
    "event-source",
  ),
  "handler-refused": row(
    422,
    "Handler Refused",
    "The event's handler refused the input as not processable (it threw NonRetryableError).",
    "event-source",
  ),
  "output-invalid": row(
    500,
    "Invalid Output",
    "The event's handler answered with a status or body its output schema does not declare (a bug in the handler, logged).",
    "event-source",
  ),
  "handler-unavailable": row(
    503,
    "Handler Unavailable",
    "The event's handler failed with a retryable error (RetryableError, timeout); retry after Retry-After.",
    "event-source",
  ),
  // 5xx: the server cannot answer now.
  "internal-error": row(500, "Internal Server Error", "The server failed to handle the request (logged)."),
  "not-ready": row(503, "Not Ready", "`/readyz`: the server does not take traffic yet; `reasons` says why."),
  "shutting-down": row(503, "Shutting Down", "The server is stopping; retry elsewhere or after Retry-After."),
  "storage-unavailable": row(503, "Storage Unavailable", "The log's storage cannot be reached right now."),
  "storage-full": row(507, "Insufficient Storage", "The log's storage is full; nothing was appended."),
} satisfies Record<string, ProblemDefinition>);

/** A stable problem code. */
export type ProblemCode = keyof typeof PROBLEMS;

/** Every code, in catalog order. */
export const PROBLEM_CODES: readonly ProblemCode[] = Object.freeze(Object.keys(PROBLEMS) as ProblemCode[]);

/** Base of every problem `type` URI. */
export const PROBLEM_TYPE_BASE = "https://herald.dev/problems/";

/** `https://herald.dev/problems/<code>`. */
export function problemType(code: ProblemCode): string {
  return `${PROBLEM_TYPE_BASE}${code}`;
}

/** Narrows a string (e.g. a problem body's `code`) to a known code. */
export function isProblemCode(value: unknown): value is ProblemCode {
  return typeof value === "string" && Object.hasOwn(PROBLEMS, value);
}

/** The catalog row of a code. */
export function problemDefinition(code: ProblemCode): ProblemDefinition {
  return PROBLEMS[code];
}

/** The code of a problem `type` URI, or undefined when it is not one of Herald's. */
export function problemCodeOfType(type: string): ProblemCode | undefined {
  if (!type.startsWith(PROBLEM_TYPE_BASE)) return undefined;
  const code = type.slice(PROBLEM_TYPE_BASE.length);
  return isProblemCode(code) ? code : undefined;
}
