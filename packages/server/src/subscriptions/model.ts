// The subscription resource (CloudEvents Subscriptions API shape) and its validation.
// A request body becomes a `SubscriptionResource` (what is stored and shown) plus the
// effective `DeliverySettings` the engine runs with. Every invalid field is reported at once.
import type {
  SinkCredential,
  SubscriptionConfig,
  SubscriptionFilter,
  SubscriptionProtocol,
  SubscriptionResource as WireSubscriptionResource,
} from "@herald/protocol";
import { SUBSCRIPTION_CONFIG_DEFAULTS } from "@herald/protocol";
import { SubscriptionValidationError, type ValidationIssue } from "./errors.js";
import { validateFilters } from "./filters.js";
import { isEngineUrl, redactEngineUrl, restoreEngineUrlPassword } from "../bridges/engine-url.js";

export type ContentMode = "binary" | "structured";
export type Ordering = "key" | "none";
/** `queue`: acked events may be dropped (see retention.ts); `stream`: events stay for replay. */
export type RetentionMode = "stream" | "queue";

/** Where a new subscription starts reading the log. */
export type StartPosition =
  | { readonly kind: "beginning" }
  | { readonly kind: "now" }
  | { readonly kind: "position"; readonly position: number }
  | { readonly kind: "time"; readonly time: number };

export interface DeliverySettings {
  readonly contentMode: ContentMode;
  readonly ordering: Ordering;
  readonly maxInFlight: number;
  readonly ackTimeoutMs: number;
  readonly maxDeliveries: number;
  readonly backoff: { readonly baseMs: number; readonly capMs: number };
  readonly timeoutMs: number;
  readonly retention: RetentionMode;
  readonly secret: string | undefined;
  readonly start: StartPosition;
}

const D = SUBSCRIPTION_CONFIG_DEFAULTS;
export const DEFAULT_SETTINGS: Omit<DeliverySettings, "secret" | "start"> = {
  contentMode: D.contentMode,
  ordering: D.ordering,
  maxInFlight: D.maxInFlight,
  ackTimeoutMs: D.ackTimeoutMs,
  maxDeliveries: D.maxDeliveries,
  backoff: { baseMs: D.backoffBaseMs, capMs: D.backoffCapMs },
  timeoutMs: D.timeoutMs,
  retention: D.retention,
};

/** JSON object as it came in (filters are kept verbatim so resources round-trip). */
export type JsonObject = { [key: string]: unknown };

/** The stored and displayed resource (the wire type): unknown top-level members are refused, known ones kept verbatim. */
export type SubscriptionResource = WireSubscriptionResource;

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;
/** Shown instead of secrets on reads; sending it back on PUT keeps the stored secret. */
export const REDACTED = "********";

const TOP_LEVEL = new Set([
  "id",
  "protocol",
  "protocolsettings",
  "sink",
  "sinkcredential",
  "source",
  "types",
  "filters",
  "config",
]);
const CONFIG_KEYS = new Set([
  "secret",
  "contentMode",
  "ordering",
  "maxInFlight",
  "ackTimeoutMs",
  "maxDeliveries",
  "backoff",
  "backoffBaseMs",
  "backoffCapMs",
  "timeoutMs",
  "start",
  "retention",
]);
const PROTOCOLS = new Set(["HTTP", "MQTT3", "MQTT5", "AMQP", "NATS", "KAFKA"]);

export interface ParsedSubscription {
  readonly resource: SubscriptionResource;
  readonly settings: DeliverySettings;
}

/**
 * Validates a create/update body. `id` is the id from the URL (PUT) or the one to assign (POST
 * without an id). Throws SubscriptionValidationError listing every problem.
 */
export function parseSubscription(body: unknown, id: string | undefined): ParsedSubscription {
  const issues: ValidationIssue[] = [];
  if (!isObject(body)) {
    throw new SubscriptionValidationError([{ field: "", reason: "the body must be a JSON object" }]);
  }
  for (const key of Object.keys(body)) {
    if (!TOP_LEVEL.has(key)) issues.push({ field: `/${key}`, reason: "unknown member" });
  }
  const resourceId = body.id ?? id;
  if (typeof resourceId !== "string" || !ID_PATTERN.test(resourceId)) {
    issues.push({ field: "/id", reason: "must match [A-Za-z0-9][A-Za-z0-9._~-]{0,127}" });
  } else if (id !== undefined && body.id !== undefined && body.id !== id) {
    issues.push({ field: "/id", reason: `does not match the id in the path (${id})` });
  }

  if (body.protocol !== undefined) {
    if (typeof body.protocol !== "string" || !PROTOCOLS.has(body.protocol)) {
      issues.push({ field: "/protocol", reason: `must be one of ${[...PROTOCOLS].join(", ")}` });
    } else if (body.protocol !== "HTTP" && !engineProtocol(body.sink, body.protocol)) {
      issues.push({
        field: "/protocol",
        reason: "must be HTTP, or the protocol of the engine sink (NATS, AMQP, MQTT3/MQTT5)",
      });
    }
  }
  if (body.sink !== undefined) validateSink(body.sink, issues);
  if (body.protocolsettings !== undefined) validateHttpSettings(body.protocolsettings, issues);
  if (typeof body.sink === "string" && isEngineUrl(body.sink)) {
    if (body.protocolsettings !== undefined)
      issues.push({ field: "/protocolsettings", reason: "HTTP settings do not apply to an engine sink" });
    if (body.sinkcredential !== undefined)
      issues.push({
        field: "/sinkcredential",
        reason: "an engine sink logs in with the URL's user and password",
      });
  }
  if (body.sinkcredential !== undefined) validateCredential(body.sinkcredential, issues);
  if (body.sink === undefined && (body.protocolsettings !== undefined || body.sinkcredential !== undefined)) {
    issues.push({ field: "/sink", reason: "protocolsettings and sinkcredential need a sink" });
  }
  if (body.source !== undefined && (typeof body.source !== "string" || body.source.length === 0)) {
    issues.push({ field: "/source", reason: "must be a non-empty string" });
  }
  if (body.types !== undefined) {
    if (
      !Array.isArray(body.types) ||
      body.types.length === 0 ||
      body.types.some((t) => typeof t !== "string" || t.length === 0)
    ) {
      issues.push({ field: "/types", reason: "must be a non-empty array of non-empty strings" });
    }
  }
  if (body.filters !== undefined) {
    if (!Array.isArray(body.filters)) issues.push({ field: "/filters", reason: "must be an array" });
    else validateFilters(body.filters, "/filters", issues);
  }
  let settings: DeliverySettings | undefined;
  if (body.config !== undefined && !isObject(body.config)) {
    issues.push({ field: "/config", reason: "must be an object" });
  } else {
    settings = parseConfig((body.config as JsonObject | undefined) ?? {}, issues);
  }
  if (issues.length > 0 || settings === undefined) throw new SubscriptionValidationError(issues);

  // Every member was validated above: the casts name the wire types they now conform to.
  // `protocol` is always answered (the Subscriptions API requires it; pull consumers use HTTP too)
  // and `config` holds strings only (the API's `config` is a map of strings): see configStrings.
  const resource: SubscriptionResource = {
    id: resourceId as string,
    protocol: (body.protocol as SubscriptionProtocol | undefined) ?? "HTTP",
    ...(body.protocolsettings !== undefined ? { protocolsettings: body.protocolsettings as JsonObject } : {}),
    ...(body.sink !== undefined ? { sink: body.sink as string } : {}),
    ...(body.sinkcredential !== undefined ? { sinkcredential: body.sinkcredential as SinkCredential } : {}),
    ...(body.source !== undefined ? { source: body.source as string } : {}),
    ...(body.types !== undefined ? { types: body.types as string[] } : {}),
    ...(body.filters !== undefined ? { filters: body.filters as SubscriptionFilter[] } : {}),
    ...(body.config !== undefined ? { config: configStrings(body.config as JsonObject, settings) } : {}),
  };
  return { resource, settings };
}

/**
 * The config as the Subscriptions API shows it, every value a string, for the members that were
 * given: integers in decimal, `backoff` as `backoffBaseMs`/`backoffCapMs`, `start` as `beginning`,
 * `now`, `position:N` or `time:<RFC 3339>`. parseConfig reads this form back to the same settings,
 * so a GET answer sent back with PUT changes nothing.
 */
export function configStrings(config: JsonObject, settings: DeliverySettings): SubscriptionConfig {
  const has = (key: string) => config[key] !== undefined;
  const backoff = isObject(config.backoff) ? config.backoff : {};
  const out: Record<string, string> = {};
  if (settings.secret !== undefined) out.secret = settings.secret;
  if (has("contentMode")) out.contentMode = settings.contentMode;
  if (has("ordering")) out.ordering = settings.ordering;
  if (has("maxInFlight")) out.maxInFlight = String(settings.maxInFlight);
  if (has("ackTimeoutMs")) out.ackTimeoutMs = String(settings.ackTimeoutMs);
  if (has("maxDeliveries")) out.maxDeliveries = String(settings.maxDeliveries);
  if (has("backoffBaseMs") || backoff.baseMs !== undefined)
    out.backoffBaseMs = String(settings.backoff.baseMs);
  if (has("backoffCapMs") || backoff.capMs !== undefined) out.backoffCapMs = String(settings.backoff.capMs);
  if (has("timeoutMs")) out.timeoutMs = String(settings.timeoutMs);
  if (has("start")) out.start = startString(settings.start);
  if (has("retention")) out.retention = settings.retention;
  // Every member is one of SubscriptionConfig's, as a string (its integer members accept strings).
  return out as SubscriptionConfig;
}

/** `beginning`, `now`, `position:N`, `time:<RFC 3339 in UTC>`. */
export function startString(start: StartPosition): string {
  switch (start.kind) {
    case "beginning":
    case "now":
      return start.kind;
    case "position":
      return `position:${start.position}`;
    case "time":
      return `time:${new Date(start.time).toISOString()}`;
  }
}

/** Settings of an already validated (stored) resource. */
export function settingsOf(resource: SubscriptionResource): DeliverySettings {
  return parseSubscription(resource, resource.id).settings;
}

/**
 * The resource as shown to clients: in the Subscriptions API shape (resources stored before it
 * are reshaped), secrets replaced by REDACTED.
 */
export function redact(stored: SubscriptionResource): SubscriptionResource {
  const resource = inApiShape(stored);
  let out: SubscriptionResource = resource;
  if (resource.config && typeof resource.config.secret === "string") {
    out = { ...out, config: { ...resource.config, secret: REDACTED } };
  }
  if (resource.sink !== undefined && isEngineUrl(resource.sink)) {
    const sink = redactEngineUrl(resource.sink, REDACTED);
    if (sink !== resource.sink) out = { ...out, sink };
  }
  if (resource.sinkcredential) {
    const cred: JsonObject = { ...resource.sinkcredential };
    for (const key of ["secret", "accesstoken", "refreshtoken"]) {
      if (typeof cred[key] === "string") cred[key] = REDACTED;
    }
    // The same members with secrets replaced by strings: still a SinkCredential.
    out = { ...out, sinkcredential: cred as SinkCredential };
  }
  return out;
}

/** A stored resource with `protocol` and string `config` (a no-op for resources stored since). */
function inApiShape(resource: SubscriptionResource): SubscriptionResource {
  const config = resource.config as JsonObject | undefined;
  const typed = config !== undefined && Object.values(config).some((v) => typeof v !== "string");
  if (resource.protocol !== undefined && !typed) return resource;
  return parseSubscription(resource, resource.id).resource;
}

/** On PUT, a secret sent back as REDACTED keeps the stored value. */
export function restoreSecrets(body: unknown, previous: SubscriptionResource): unknown {
  if (!isObject(body)) return body;
  const next: JsonObject = { ...body };
  if (isObject(next.config) && next.config.secret === REDACTED && previous.config?.secret !== undefined) {
    next.config = { ...next.config, secret: previous.config.secret };
  }
  if (typeof next.sink === "string" && previous.sink !== undefined && isEngineUrl(next.sink)) {
    next.sink = restoreEngineUrlPassword(next.sink, previous.sink, REDACTED);
  }
  if (isObject(next.sinkcredential) && previous.sinkcredential) {
    const cred: JsonObject = { ...next.sinkcredential };
    for (const key of ["secret", "accesstoken", "refreshtoken"]) {
      if (cred[key] === REDACTED && previous.sinkcredential[key] !== undefined) {
        cred[key] = previous.sinkcredential[key];
      }
    }
    next.sinkcredential = cred;
  }
  return next;
}

/** Whether `protocol` names the engine of an engine sink (`nats:` NATS, `amqp[s]:` AMQP, `mqtt[s]:` MQTT3/MQTT5). */
function engineProtocol(sink: unknown, protocol: string): boolean {
  if (typeof sink !== "string" || !isEngineUrl(sink)) return false;
  const scheme = sink.slice(0, sink.indexOf(":")).toLowerCase();
  if (scheme === "nats") return protocol === "NATS";
  if (scheme.startsWith("amqp")) return protocol === "AMQP";
  if (scheme.startsWith("mqtt")) return protocol === "MQTT3" || protocol === "MQTT5";
  return false;
}

function validateSink(sink: unknown, issues: ValidationIssue[]): void {
  if (typeof sink !== "string") {
    issues.push({ field: "/sink", reason: "must be a URL string" });
    return;
  }
  let url: URL;
  try {
    url = new URL(sink);
  } catch {
    issues.push({ field: "/sink", reason: "is not a valid absolute URL" });
    return;
  }
  // An engine URL (a bridge) is checked in full by the manager (bridge-sink-invalid names the bad part);
  // its credentials are the engine's own way to log in, redacted on reads.
  if (isEngineUrl(sink)) return;
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    issues.push({
      field: "/sink",
      reason: "must be an http:, https: or engine (nats, amqp, redis, mqtt) URL",
    });
  }
  if (url.username !== "" || url.password !== "") {
    issues.push({ field: "/sink", reason: "must not carry credentials; use sinkcredential" });
  }
}

function validateHttpSettings(value: unknown, issues: ValidationIssue[]): void {
  if (!isObject(value)) {
    issues.push({ field: "/protocolsettings", reason: "must be an object" });
    return;
  }
  for (const key of Object.keys(value)) {
    if (key !== "headers" && key !== "method") {
      issues.push({ field: `/protocolsettings/${key}`, reason: "unknown HTTP setting (headers, method)" });
    }
  }
  if (value.method !== undefined && value.method !== "POST" && value.method !== "PUT") {
    issues.push({ field: "/protocolsettings/method", reason: "must be POST or PUT" });
  }
  if (value.headers !== undefined) {
    if (!isObject(value.headers) || Object.values(value.headers).some((v) => typeof v !== "string")) {
      issues.push({ field: "/protocolsettings/headers", reason: "must map header names to strings" });
    } else {
      for (const name of Object.keys(value.headers)) {
        if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) {
          issues.push({ field: `/protocolsettings/headers/${name}`, reason: "is not a valid header name" });
        }
      }
    }
  }
}

function validateCredential(value: unknown, issues: ValidationIssue[]): void {
  if (!isObject(value)) {
    issues.push({ field: "/sinkcredential", reason: "must be an object" });
    return;
  }
  const type = value.credentialtype;
  if (type === "PLAIN") {
    if (typeof value.identifier !== "string" || typeof value.secret !== "string") {
      issues.push({ field: "/sinkcredential", reason: "PLAIN needs string identifier and secret" });
    }
  } else if (type === "ACCESSTOKEN" || type === "REFRESHTOKEN") {
    if (typeof value.accesstoken !== "string") {
      issues.push({ field: "/sinkcredential/accesstoken", reason: "must be a string" });
    }
  } else {
    issues.push({
      field: "/sinkcredential/credentialtype",
      reason: "must be PLAIN, ACCESSTOKEN or REFRESHTOKEN",
    });
  }
}

function parseConfig(config: JsonObject, issues: ValidationIssue[]): DeliverySettings {
  for (const key of Object.keys(config)) {
    if (!CONFIG_KEYS.has(key)) issues.push({ field: `/config/${key}`, reason: "unknown config member" });
  }
  const int = (key: string, min: number, max: number, fallback: number, value = config[key]): number => {
    if (value === undefined) return fallback;
    const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
      issues.push({ field: `/config/${key}`, reason: `must be an integer from ${min} to ${max}` });
      return fallback;
    }
    return n;
  };
  const contentMode = config.contentMode ?? DEFAULT_SETTINGS.contentMode;
  if (contentMode !== "binary" && contentMode !== "structured") {
    issues.push({ field: "/config/contentMode", reason: "must be binary or structured" });
  }
  const ordering = config.ordering ?? DEFAULT_SETTINGS.ordering;
  if (ordering !== "key" && ordering !== "none") {
    issues.push({ field: "/config/ordering", reason: "must be key or none" });
  }
  const retention = config.retention ?? DEFAULT_SETTINGS.retention;
  if (retention !== "stream" && retention !== "queue") {
    issues.push({ field: "/config/retention", reason: "must be stream or queue" });
  }
  if (config.secret !== undefined && (typeof config.secret !== "string" || config.secret.length === 0)) {
    issues.push({ field: "/config/secret", reason: "must be a non-empty string" });
  }
  let baseMs = DEFAULT_SETTINGS.backoff.baseMs;
  let capMs = DEFAULT_SETTINGS.backoff.capMs;
  if (config.backoff !== undefined) {
    if (!isObject(config.backoff)) {
      issues.push({ field: "/config/backoff", reason: "must be an object { baseMs, capMs }" });
    } else {
      for (const key of Object.keys(config.backoff)) {
        if (key !== "baseMs" && key !== "capMs") {
          issues.push({ field: `/config/backoff/${key}`, reason: "unknown backoff member" });
        }
      }
      baseMs = int("backoff/baseMs", 0, 3_600_000, baseMs, config.backoff.baseMs);
      capMs = int("backoff/capMs", 0, 86_400_000, capMs, config.backoff.capMs);
    }
  }
  baseMs = int("backoffBaseMs", 0, 3_600_000, baseMs);
  capMs = int("backoffCapMs", 0, 86_400_000, capMs);
  if (capMs < baseMs) issues.push({ field: "/config/backoff/capMs", reason: "must be ≥ baseMs" });

  return {
    contentMode: contentMode as ContentMode,
    ordering: ordering as Ordering,
    maxInFlight: int("maxInFlight", 1, 10_000, DEFAULT_SETTINGS.maxInFlight),
    ackTimeoutMs: int("ackTimeoutMs", 10, 86_400_000, DEFAULT_SETTINGS.ackTimeoutMs),
    maxDeliveries: int("maxDeliveries", 1, 1000, DEFAULT_SETTINGS.maxDeliveries),
    backoff: { baseMs, capMs },
    timeoutMs: int("timeoutMs", 10, 600_000, DEFAULT_SETTINGS.timeoutMs),
    retention: retention as RetentionMode,
    secret: typeof config.secret === "string" ? config.secret : undefined,
    start: parseStart(config.start, issues),
  };
}

/**
 * `beginning`, `now`, `position:N`, `time:<RFC 3339>` (the answered forms), `{position}`, `{time}`,
 * or a bare position number or RFC 3339 time.
 */
function parseStart(value: unknown, issues: ValidationIssue[]): StartPosition {
  const bad = (): StartPosition => {
    issues.push({
      field: "/config/start",
      reason:
        'must be "beginning", "now", "position:N", "time:<RFC 3339>", { "position": N } or { "time": RFC 3339 }',
    });
    return { kind: "beginning" };
  };
  if (value === undefined || value === "beginning") return { kind: "beginning" };
  if (value === "now") return { kind: "now" };
  const position = (n: unknown): StartPosition =>
    typeof n === "number" && Number.isInteger(n) && n >= 0 ? { kind: "position", position: n } : bad();
  const time = (t: unknown): StartPosition => {
    const ms = typeof t === "string" && /^\d{4}-\d\d-\d\dT/.test(t) ? Date.parse(t) : Number.NaN;
    return Number.isNaN(ms) ? bad() : { kind: "time", time: ms };
  };
  if (typeof value === "number") return position(value);
  if (typeof value === "string") {
    if (value.startsWith("position:")) {
      const n = value.slice("position:".length);
      return /^\d{1,15}$/.test(n) ? position(Number(n)) : bad();
    }
    if (value.startsWith("time:")) return time(value.slice("time:".length));
    return /^\d+$/.test(value) ? position(Number(value)) : time(value);
  }
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "position") return position(value.position);
    if (keys.length === 1 && keys[0] === "time") return time(value.time);
  }
  return bad();
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
