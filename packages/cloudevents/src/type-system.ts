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

// RFC 3986 characters: unreserved, reserved, and percent-encoded octets.
const URI_CHARS = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;
const SCHEME_PREFIX = /^[A-Za-z][A-Za-z0-9+.-]*:/;
// In a relative reference the first path segment may not contain ":" (RFC 3986 §4.2),
// so a ":" before any "/", "?" or "#" must end a valid scheme.
const COLON_BEFORE_DELIMITER = /^[^/?#]*:/;

/** URI-reference (RFC 3986 §4.1): an absolute URI or a relative reference. */
export function isUriReference(value: string): boolean {
  if (!URI_CHARS.test(value)) return false;
  return !COLON_BEFORE_DELIMITER.test(value) || SCHEME_PREFIX.test(value);
}

/**
 * URI: absolute (has a scheme). The spec points at RFC 3986 §4.3 (absolute-URI, no fragment); Herald also
 * accepts a fragment, like the JSON schema's `format: uri`, so `…/schema.json#/definitions/x` works.
 */
export function isAbsoluteUri(value: string): boolean {
  return SCHEME_PREFIX.test(value) && URI_CHARS.test(value);
}

// RFC 3339 date-time: full-date "T" full-time, with a mandatory offset.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Timestamp: an RFC 3339 date-time with valid field ranges (leap second 60 allowed). */
export function isTimestamp(value: string): boolean {
  const m = RFC3339.exec(value);
  if (m === null) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const maxDay = month === 2 && !leap ? 28 : DAYS_IN_MONTH[month - 1]!;
  if (day > maxDay) return false;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  return true;
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
