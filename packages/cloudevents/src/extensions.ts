// Documented CloudEvents extensions Herald validates when present, plus Herald's own correlation fields.
import { isCeString, isTimestamp, isUriReference } from "./type-system.js";

/** Distributed tracing extension (W3C Trace Context). */
export const TRACEPARENT = "traceparent";
export const TRACESTATE = "tracestate";
/** Partitioning extension: key that keeps related events together (Herald also derives the stream from it). */
export const PARTITIONKEY = "partitionkey";
/** Sequence extension: a lexicographically-orderable string. */
export const SEQUENCE = "sequence";
/** Dataref extension (claim check): URI-reference of the data. */
export const DATAREF = "dataref";
/** Expiry time extension: Timestamp after which the event is stale. */
export const EXPIRYTIME = "expirytime";
/**
 * Herald's own: scheduled delivery. An RFC 3339 timestamp with offset; `herald serve` stores the
 * event at once and appends it to the log (so delivers it) not before that time.
 */
export const DELIVERAT = "deliverat";
/** Herald's own: id shared by every event of one conversation / workflow. */
export const CORRELATIONID = "correlationid";
/** Herald's own: id of the event that caused this one (set on replies). */
export const CAUSATIONID = "causationid";

/**
 * The key that keeps related events together and in order: the `partitionkey` extension, else the
 * subject, else the source. The log files an event without a named stream under it; transports
 * order by it.
 */
export function orderingKey(event: {
  readonly source: string;
  readonly subject?: string | undefined;
  readonly [attribute: string]: unknown;
}): string {
  const key = event[PARTITIONKEY];
  if (typeof key === "string" && key !== "") return key;
  const subject = event.subject;
  if (typeof subject === "string" && subject !== "") return subject;
  return event.source;
}

// Checked by hand rather than by regex: traceparent rides on most traced events.
function isLowerHex(value: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

function isAllZero(value: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (value.charCodeAt(i) !== 48) return false;
  return true;
}

/**
 * W3C `traceparent`: version-traceid-parentid-flags in lower-case hex, ids not all zero, version not ff;
 * version 00 has exactly these four fields, later versions may append `-…` (Trace Context §3.2.4).
 */
export function isTraceparent(value: string): boolean {
  if (value.length < 55) return false;
  if (value.charCodeAt(2) !== 45 || value.charCodeAt(35) !== 45 || value.charCodeAt(52) !== 45) return false;
  if (!isLowerHex(value, 0, 2) || !isLowerHex(value, 3, 35) || !isLowerHex(value, 36, 52)) return false;
  if (!isLowerHex(value, 53, 55)) return false;
  const version = value.slice(0, 2);
  if (version === "ff") return false;
  if (value.length > 55 && (version === "00" || value.charCodeAt(55) !== 45)) return false;
  return !isAllZero(value, 3, 35) && !isAllZero(value, 36, 52);
}

const TRACESTATE_MEMBER =
  /^(?:[a-z0-9][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const MAX_TRACESTATE_MEMBERS = 32;

/** W3C `tracestate`: up to 32 comma-separated `key=value` members (empty members are allowed). */
export function isTracestate(value: string): boolean {
  let members = 0;
  for (const raw of value.split(",")) {
    const member = raw.trim();
    if (member === "") continue;
    if (!TRACESTATE_MEMBER.test(member)) return false;
    members++;
  }
  return members <= MAX_TRACESTATE_MEMBERS;
}

type ExtensionCheck = (value: unknown) => string | undefined;

const nonEmptyString: ExtensionCheck = (v) =>
  typeof v === "string" && v.length > 0 && isCeString(v) ? undefined : "must be a non-empty String";

/** Checks of the known extensions: a reason when the value is wrong, undefined when it is fine. */
export const KNOWN_EXTENSION_CHECKS: ReadonlyMap<string, ExtensionCheck> = new Map<string, ExtensionCheck>([
  [
    TRACEPARENT,
    (v) =>
      typeof v === "string" && isTraceparent(v)
        ? undefined
        : "must be a W3C traceparent (version-traceid-parentid-flags, lower-case hex, non-zero ids)",
  ],
  [
    TRACESTATE,
    (v) =>
      typeof v === "string" && isTracestate(v)
        ? undefined
        : "must be a W3C tracestate (up to 32 comma-separated key=value members)",
  ],
  [PARTITIONKEY, nonEmptyString],
  [SEQUENCE, nonEmptyString],
  [
    DATAREF,
    (v) =>
      typeof v === "string" && v.length > 0 && isUriReference(v) ? undefined : "must be a URI-reference",
  ],
  [
    EXPIRYTIME,
    (v) => (typeof v === "string" && isTimestamp(v) ? undefined : "must be an RFC 3339 Timestamp"),
  ],
  [CORRELATIONID, nonEmptyString],
  [CAUSATIONID, nonEmptyString],
  [
    DELIVERAT,
    (v) =>
      typeof v === "string" && isTimestamp(v) ? undefined : "must be an RFC 3339 Timestamp with an offset",
  ],
]);

/** Anything with flat extension members, such as a CloudEvent. */
type WithExtensions = { readonly [name: string]: unknown };

function stringExtension(event: WithExtensions, name: string): string | undefined {
  const value = event[name];
  return typeof value === "string" ? value : undefined;
}

/** Typed accessors of the known extensions (undefined when absent). */
export const getTraceparent = (e: WithExtensions): string | undefined => stringExtension(e, TRACEPARENT);
export const getTracestate = (e: WithExtensions): string | undefined => stringExtension(e, TRACESTATE);
export const getPartitionKey = (e: WithExtensions): string | undefined => stringExtension(e, PARTITIONKEY);
export const getSequence = (e: WithExtensions): string | undefined => stringExtension(e, SEQUENCE);
export const getDataref = (e: WithExtensions): string | undefined => stringExtension(e, DATAREF);
export const getCorrelationId = (e: WithExtensions): string | undefined => stringExtension(e, CORRELATIONID);
export const getCausationId = (e: WithExtensions): string | undefined => stringExtension(e, CAUSATIONID);

/** The expiry time as a Date (undefined when absent). */
export function getExpiryTime(e: WithExtensions): Date | undefined {
  const value = stringExtension(e, EXPIRYTIME);
  return value === undefined ? undefined : new Date(value);
}

/** The scheduled delivery time (`deliverat`) in ms since the epoch; undefined when absent. */
export function getDeliverAt(e: WithExtensions): number | undefined {
  const value = stringExtension(e, DELIVERAT);
  return value === undefined ? undefined : Date.parse(value);
}

/** True when the event has an `expirytime` at or before `now`. */
export function isExpired(e: WithExtensions, now: Date = new Date()): boolean {
  const expiry = getExpiryTime(e);
  return expiry !== undefined && expiry.getTime() <= now.getTime();
}
