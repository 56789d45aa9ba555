import { isIPv6 } from "node:net";

// The CloudEvents 1.0.2 type system (spec.md "Type System"): checks used by validation and the bindings.
// Every check is a precompiled regex or a plain comparison: the broker runs them for every event.

/** Names of context attributes and extensions: lower-case ASCII letters and digits (spec MUST). */
export const ATTRIBUTE_NAME = /^[a-z0-9]+$/;

/** The spec says names SHOULD NOT exceed this length; Herald accepts longer ones (only the MUST is enforced). */
export const RECOMMENDED_MAX_NAME_LENGTH = 20;

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

/** Integer: a whole number in the 32-bit signed range. */
export function isInt32(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX;
}

// String: control characters (C0, DEL, C1), non-characters and unpaired surrogates are not allowed.
// With the `u` flag a surrogate range only matches unpaired (lone) surrogates.
const DISALLOWED_STRING_CHARS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the spec forbids exactly these characters
  /[\u0000-\u001F\u007F-\u009F\uFDD0-\uFDEF\uFFFE\uFFFF\u{1FFFE}\u{1FFFF}\u{2FFFE}\u{2FFFF}\u{3FFFE}\u{3FFFF}\u{4FFFE}\u{4FFFF}\u{5FFFE}\u{5FFFF}\u{6FFFE}\u{6FFFF}\u{7FFFE}\u{7FFFF}\u{8FFFE}\u{8FFFF}\u{9FFFE}\u{9FFFF}\u{AFFFE}\u{AFFFF}\u{BFFFE}\u{BFFFF}\u{CFFFE}\u{CFFFF}\u{DFFFE}\u{DFFFF}\u{EFFFE}\u{EFFFF}\u{FFFFE}\u{FFFFF}\u{10FFFE}\u{10FFFF}\uD800-\uDFFF]/u;
// Fast path: printable ASCII only needs no further check.
const PRINTABLE_ASCII = /^[\x20-\x7E]*$/;

/** String: a sequence of allowable Unicode characters. */
export function isCeString(value: string): boolean {
  return PRINTABLE_ASCII.test(value) || !DISALLOWED_STRING_CHARS.test(value);
}

// RFC 3986 URI-reference, parsed component by component (split at the delimiters, then one linear regex per
// component), so the grammar's rules hold: `[` `]` only around an IP literal, one `#`, a numeric port...
const PCHAR = "(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})";
const PATH = new RegExp(`^(?:${PCHAR}|/)*$`);
const QUERY_OR_FRAGMENT = new RegExp(`^(?:${PCHAR}|[/?])*$`);
const USERINFO = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*$/;
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;
const PORT = /^[0-9]*$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.]+$/;
const IPVFUTURE = /^[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;

/** authority = [ userinfo "@" ] host [ ":" port ], host = IP-literal / IPv4address / reg-name. */
function isAuthority(authority: string): boolean {
  const at = authority.indexOf("@");
  if (at !== -1 && !USERINFO.test(authority.slice(0, at))) return false;
  const hostPort = authority.slice(at + 1);
  if (hostPort.charCodeAt(0) === 0x5b) {
    const close = hostPort.indexOf("]");
    if (close === -1) return false;
    const literal = hostPort.slice(1, close);
    if (!(IPV6_CHARS.test(literal) && isIPv6(literal)) && !IPVFUTURE.test(literal)) return false;
    const after = hostPort.slice(close + 1);
    return after === "" || (after.charCodeAt(0) === 0x3a && PORT.test(after.slice(1)));
  }
  const colon = hostPort.lastIndexOf(":");
  if (colon === -1) return REG_NAME.test(hostPort);
  return REG_NAME.test(hostPort.slice(0, colon)) && PORT.test(hostPort.slice(colon + 1));
}

/** The parts of a URI-reference that callers need, or undefined when `value` is not one. */
function parseUriReference(
  value: string,
): { readonly scheme: boolean; readonly hierPart: string } | undefined {
  let rest = value;
  const hash = rest.indexOf("#");
  if (hash !== -1) {
    if (!QUERY_OR_FRAGMENT.test(rest.slice(hash + 1))) return undefined;
    rest = rest.slice(0, hash);
  }
  const question = rest.indexOf("?");
  if (question !== -1) {
    if (!QUERY_OR_FRAGMENT.test(rest.slice(question + 1))) return undefined;
    rest = rest.slice(0, question);
  }
  // A ":" before the first "/" ends a scheme; a relative reference's first segment may not contain one.
  let scheme = false;
  const colon = rest.indexOf(":");
  const slash = rest.indexOf("/");
  if (colon !== -1 && (slash === -1 || colon < slash)) {
    if (!SCHEME.test(rest.slice(0, colon))) return undefined;
    scheme = true;
    rest = rest.slice(colon + 1);
  }
  const hierPart = rest;
  if (rest.startsWith("//")) {
    let end = rest.indexOf("/", 2);
    if (end === -1) end = rest.length;
    if (!isAuthority(rest.slice(2, end))) return undefined;
    rest = rest.slice(end);
  }
  return PATH.test(rest) ? { scheme, hierPart } : undefined;
}

/** URI-reference (RFC 3986 §4.1): an absolute URI or a relative reference. */
export function isUriReference(value: string): boolean {
  return parseUriReference(value) !== undefined;
}

/**
 * URI: absolute (has a scheme) with a non-empty hier-part. The spec points at RFC 3986 §4.3 (absolute-URI, no
 * fragment); Herald also accepts a fragment, like the JSON schema's `format: uri`, so
 * `…/schema.json#/definitions/x` works.
 */
export function isAbsoluteUri(value: string): boolean {
  const parsed = parseUriReference(value);
  return parsed?.scheme === true && parsed.hierPart !== "";
}

// RFC 3339 date-time: full-date "T" full-time with a mandatory offset, checked by hand (no regex captures,
// no allocations): the broker checks `time` on every event.
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Value of `count` decimal digits at `at`, or -1 when any is not a digit. */
function digits(value: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Timestamp: an RFC 3339 date-time with valid field ranges (a leap second only at 23:59 UTC). */
export function isTimestamp(value: string): boolean {
  // YYYY-MM-DDTHH:MM:SS then [.fraction] then Z or +HH:MM
  if (value.length < 20) return false;
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  const hour = digits(value, 11, 2);
  const minute = digits(value, 14, 2);
  const second = digits(value, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return false;
  if (minute < 0 || minute > 59 || second < 0 || second > 60) return false;
  const t = value.charCodeAt(10);
  if (value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45 || (t !== 84 && t !== 116)) return false;
  if (value.charCodeAt(13) !== 58 || value.charCodeAt(16) !== 58) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && !leap ? 28 : DAYS_IN_MONTH[month - 1]!)) return false;
  let i = 19;
  if (value.charCodeAt(i) === 46) {
    const first = ++i;
    while (i < value.length && value.charCodeAt(i) >= 48 && value.charCodeAt(i) <= 57) i++;
    if (i === first) return false;
  }
  const zone = value.charCodeAt(i);
  let offset = 0; // minutes east of UTC
  if (zone === 90 || zone === 122) {
    if (i + 1 !== value.length) return false;
  } else {
    if (zone !== 43 && zone !== 45) return false;
    if (i + 6 !== value.length || value.charCodeAt(i + 3) !== 58) return false;
    const offsetHour = digits(value, i + 1, 2);
    const offsetMinute = digits(value, i + 4, 2);
    if (offsetHour < 0 || offsetHour > 23 || offsetMinute < 0 || offsetMinute > 59) return false;
    offset = (zone === 43 ? 1 : -1) * (offsetHour * 60 + offsetMinute);
  }
  // A leap second (:60) only exists at 23:59 UTC (RFC 3339 §5.7, e.g. 1990-12-31T15:59:60-08:00).
  return second < 60 || (((hour * 60 + minute - offset) % 1440) + 1440) % 1440 === 1439;
}

/** RFC 3339 text of a Date (UTC, millisecond precision). */
export function formatTimestamp(date: Date): string {
  return date.toISOString();
}

// RFC 2045/2046 media type: type "/" subtype *( ";" parameter ), tolerant of spaces around ";".
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(
  `^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|"(?:[^"\\\\]|\\\\.)*"))*[ \\t]*;?[ \\t]*$`,
);

/** A media type as RFC 2046 describes it, e.g. `application/json; charset=utf-8`. */
export function isMediaType(value: string): boolean {
  return MEDIA_TYPE.test(value);
}

// Base64 (RFC 4648 §4) with padding.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function isBase64(value: string): boolean {
  return BASE64.test(value);
}

/** Base64 text to bytes (a plain Uint8Array, not a Buffer, so equality checks behave). */
export function base64ToBytes(value: string): Uint8Array {
  const buf = Buffer.from(value, "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}
