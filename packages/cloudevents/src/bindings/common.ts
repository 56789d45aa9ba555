// Pieces every protocol binding shares: canonical strings of attribute values, data <-> bytes, UTF-8.
import { CloudEventDecodeError, CloudEventValidationError } from "../errors.js";
import type { CloudEvent } from "../event.js";
import { isJsonMediaType, mediaTypeEssence, mediaTypeParameter } from "../media-type.js";
import { bytesToBase64 } from "../type-system.js";

const utf8Strict = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** The attribute's canonical string (spec "Type System"): Integer decimal, Boolean true/false, Binary Base64. */
export function canonicalString(value: unknown): string {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "boolean":
      return String(value);
    default:
      return value instanceof Uint8Array ? bytesToBase64(value) : String(value);
  }
}

/** UTF-8 bytes to text; throws CloudEventDecodeError('malformed') when the bytes are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8Strict.decode(bytes);
  } catch (cause) {
    throw new CloudEventDecodeError("malformed", `${what} is not valid UTF-8`, { cause });
  }
}

export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Bytes of a body given as text or bytes. */
export function bodyBytes(body: string | Uint8Array): Uint8Array {
  return typeof body === "string" ? encodeUtf8(body) : body;
}

/** Text of a body given as text or bytes (strict UTF-8, BOM dropped). */
export function bodyText(body: string | Uint8Array, what: string): string {
  const text = typeof body === "string" ? body : decodeUtf8(body, what);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Bytes the event can own: text is encoded; a Buffer (or other Uint8Array subclass) is copied into a plain
 * Uint8Array, so the event neither pins node's shared buffer pool nor changes when the caller reuses it.
 */
function ownBytes(body: string | Uint8Array): Uint8Array {
  if (typeof body === "string") return encodeUtf8(body);
  return body.constructor === Uint8Array ? body : new Uint8Array(body);
}

/** The data of a binary-mode message and the content type that describes it. */
export interface BinaryPayload {
  /** undefined when the event has no data. */
  readonly body: string | Uint8Array | undefined;
  readonly contentType: string | undefined;
}

/**
 * How binary mode carries `data`: bytes as they are; a string as text unless the content type is JSON;
 * any other value as JSON. Without a datacontenttype, non-binary data is sent as `application/json`
 * (the JSON format's default), so a receiver can read it back.
 */
export function binaryPayload(event: CloudEvent): BinaryPayload {
  const contentType = event.datacontenttype;
  if (!Object.hasOwn(event, "data")) return { body: undefined, contentType };
  const data = event.data;
  if (data instanceof Uint8Array) return { body: data, contentType };
  if (typeof data === "string" && contentType !== undefined && !isJsonMediaType(contentType)) {
    return { body: data, contentType };
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (cause) {
    throw new CloudEventValidationError([
      { attribute: "data", reason: `cannot be written as JSON: ${(cause as Error).message}` },
    ]);
  }
  return { body: json ?? "null", contentType: contentType ?? "application/json" };
}

// Text-like content types whose data is kept as a string rather than bytes.
function isTextMediaType(essence: string): boolean {
  return (
    essence.startsWith("text/") ||
    essence === "application/xml" ||
    essence.endsWith("+xml") ||
    essence === "application/x-www-form-urlencoded"
  );
}

const SENTINEL_NO_DATA: unique symbol = Symbol("no data");
export type NoData = typeof SENTINEL_NO_DATA;
export const NO_DATA: NoData = SENTINEL_NO_DATA;

/**
 * The `data` of a binary-mode message: JSON content types are parsed, text types become strings (when valid
 * UTF-8), everything else (including an absent content type) stays bytes. An empty body means no data.
 */
export function dataFromBody(
  body: string | Uint8Array | null | undefined,
  contentType: string | undefined,
): unknown {
  if (body === undefined || body === null || body.length === 0) return NO_DATA;
  if (contentType === undefined) return ownBytes(body);
  const essence = mediaTypeEssence(contentType);
  if (essence === "application/json" || essence.endsWith("+json")) {
    const text = bodyText(body, "JSON data");
    try {
      return JSON.parse(text);
    } catch (cause) {
      throw new CloudEventDecodeError(
        "malformed",
        `data is declared ${contentType} but is not valid JSON: ${(cause as Error).message}`,
        { cause },
      );
    }
  }
  const charset = mediaTypeParameter(contentType, "charset");
  if (isTextMediaType(essence) || charset !== undefined) {
    if (typeof body === "string") return body;
    if (charset === undefined || charset === "utf-8" || charset === "utf8" || charset === "us-ascii") {
      try {
        return utf8Strict.decode(body);
      } catch {
        return ownBytes(body); // not UTF-8 after all: keep the bytes, lose nothing
      }
    }
    return ownBytes(body);
  }
  return ownBytes(body);
}

/** A single header value, or an error when a header that must be single appears several times. */
export function singleValue<V>(name: string, value: V | readonly V[] | undefined): V | undefined {
  if (!Array.isArray(value)) return value as V | undefined;
  if (value.length === 0) return undefined;
  if (value.length === 1) return value[0] as V;
  throw new CloudEventDecodeError("malformed", `header ${name} appears ${value.length} times`);
}

/** Parses a JSON body with the package's typed errors (`malformed` when empty or not JSON). */
export function parseJsonBody(body: string | Uint8Array | null | undefined, what: string): unknown {
  if (body === undefined || body === null || body.length === 0) {
    throw new CloudEventDecodeError("malformed", `structured mode needs a ${what}`);
  }
  const text = bodyText(body, what);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new CloudEventDecodeError("malformed", `${what} is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/**
 * Whether a content type selects structured mode (`application/cloudevents...`); throws
 * `unsupported-media-type` for CloudEvents formats other than JSON (e.g. +avro).
 */
export function isStructuredJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const essence = mediaTypeEssence(contentType);
  if (!essence.startsWith("application/cloudevents")) return false;
  if (essence === "application/cloudevents+json") return true;
  throw new CloudEventDecodeError(
    "unsupported-media-type",
    `event format ${contentType} is not supported (only application/cloudevents+json)`,
  );
}
