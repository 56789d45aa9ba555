// Percent-encoding of ce- header values (HTTP binding §3.1.3.2), shared by HTTP and NATS.
import { decodeUtf8, encodeUtf8 } from "./common.js";

// Printable ASCII except space, double-quote and percent travels as is.
const NO_ENCODING_NEEDED = /^[\x21\x23\x24\x26-\x7E]*$/;
// Plain ASCII values (spaces allowed, as older senders did not encode them) without % or " decode as is.
const NO_DECODING_NEEDED = /^[\x20\x21\x23\x24\x26-\x7E]*$/;
const HEX = "0123456789ABCDEF";

/** Percent-encodes space, ", % and everything outside printable ASCII, as UTF-8 bytes in upper-case hex. */
export function encodeHeaderValue(value: string): string {
  if (NO_ENCODING_NEEDED.test(value)) return value;
  let out = "";
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code >= 0x21 && code <= 0x7e && code !== 0x22 && code !== 0x25) {
      out += char;
      continue;
    }
    for (const byte of encodeUtf8(char)) out += "%" + HEX[byte >> 4] + HEX[byte & 15];
  }
  return out;
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return value.slice(start, end);
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/** Removes RFC 7230 quoted-string quoting: `"a \"b\""` -> `a "b"`. */
function unquote(value: string): string {
  let out = "";
  for (let i = 1; i < value.length - 1; i++) {
    let ch = value[i]!;
    if (ch === "\\" && i + 1 < value.length - 1) ch = value[++i]!;
    out += ch;
  }
  return out;
}

/**
 * Decodes a header value: quoted-string unescaping, then one round of percent-decoding; the bytes must be
 * valid UTF-8 (so overlong forms like %C0%A0 are rejected). A `%` not followed by two hex digits stays
 * literal. Characters 0x80-0xFF are taken as the raw header bytes they stand for (node's latin1 view).
 */
export function decodeHeaderValue(value: string, name: string): string {
  // Optional whitespace around a field value is not part of it (RFC 7230 §3.2); node already trims it.
  const last = value.length - 1;
  if (last >= 0 && (isOws(value.charCodeAt(0)) || isOws(value.charCodeAt(last)))) value = trimOws(value);
  if (NO_DECODING_NEEDED.test(value)) return value;
  if (value.length >= 2 && value.charCodeAt(0) === 0x22 && value.charCodeAt(value.length - 1) === 0x22) {
    value = unquote(value);
  }
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0x25 && i + 2 < value.length) {
      const hi = hexValue(value.charCodeAt(i + 1));
      const lo = hexValue(value.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        bytes.push((hi << 4) | lo);
        i += 2;
        continue;
      }
    }
    if (code < 0x100) {
      bytes.push(code);
      continue;
    }
    const point = value.codePointAt(i)!;
    if (point > 0xffff) i++;
    for (const b of encodeUtf8(String.fromCodePoint(point))) bytes.push(b);
  }
  return decodeUtf8(Uint8Array.from(bytes), `header ${name}`);
}
