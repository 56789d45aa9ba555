// HTTP protocol binding (http-protocol-binding.md 1.0.2): binary, structured and batched content modes.
import { CloudEventDecodeError } from "../errors.js";
import { type CloudEvent, createDecodedEvent } from "../event.js";
import {
  decodeJsonBatchArray,
  decodeJsonEventObject,
  encodeJsonBatch,
  encodeJsonEvent,
} from "../json-format.js";
import { CLOUDEVENTS_BATCH_JSON, CLOUDEVENTS_JSON, mediaTypeEssence } from "../media-type.js";
import {
  binaryPayload,
  canonicalString,
  dataFromBody,
  NO_DATA,
  singleValue,
  parseJsonBody,
} from "./common.js";
import { decodeHeaderValue, encodeHeaderValue } from "./header-value.js";

/** Incoming headers as node's IncomingHttpHeaders gives them: any case, single or repeated values. */
export type HttpHeadersInput = Readonly<Record<string, string | readonly string[] | undefined>>;

/** An HTTP message to send: lower-case header names, body as text or bytes ("" when there is no data). */
export interface HttpMessage {
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array;
}

export interface HttpMessageInput {
  readonly headers: HttpHeadersInput;
  readonly body?: string | Uint8Array | null;
}

export type HttpContentMode = "binary" | "structured";
export type HttpDetectedMode = HttpContentMode | "batch";

const STRUCTURED_CONTENT_TYPE = `${CLOUDEVENTS_JSON}; charset=utf-8`;
const BATCH_CONTENT_TYPE = `${CLOUDEVENTS_BATCH_JSON}; charset=utf-8`;
const CE_PREFIX = "ce-";

/** Encodes one event: binary mode (ce- headers, data as body) or structured mode (JSON event body). */
export function encodeHttp(event: CloudEvent, mode: HttpContentMode = "binary"): HttpMessage {
  if (mode === "structured") {
    return { headers: { "content-type": STRUCTURED_CONTENT_TYPE }, body: encodeJsonEvent(event) };
  }
  const headers: Record<string, string> = {};
  const keys = Object.keys(event);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === "data" || key === "datacontenttype") continue;
    headers[CE_PREFIX + key] = encodeHeaderValue(canonicalString(event[key]));
  }
  const payload = binaryPayload(event);
  if (payload.contentType !== undefined) headers["content-type"] = payload.contentType;
  return { headers, body: payload.body ?? "" };
}

/** Encodes events in the batched content mode (JSON batch format). */
export function encodeHttpBatch(events: readonly CloudEvent[]): HttpMessage {
  return { headers: { "content-type": BATCH_CONTENT_TYPE }, body: encodeJsonBatch(events) };
}

function findContentType(headers: HttpHeadersInput): string | undefined {
  const direct = headers["content-type"];
  if (direct !== undefined) return singleValue("content-type", direct);
  for (const key of Object.keys(headers)) {
    if (key.length === 12 && key.toLowerCase() === "content-type") return singleValue(key, headers[key]);
  }
  return undefined;
}

/**
 * The content mode a message uses, from its Content-Type (spec §3): `application/cloudevents-batch` ->
 * batch, `application/cloudevents` -> structured, otherwise binary.
 */
export function detectHttpMode(headers: HttpHeadersInput): HttpDetectedMode {
  const contentType = findContentType(headers);
  if (contentType === undefined) return "binary";
  const essence = mediaTypeEssence(contentType);
  if (essence.startsWith("application/cloudevents-batch")) return "batch";
  if (essence.startsWith("application/cloudevents")) return "structured";
  return "binary";
}

/**
 * Decodes an HTTP message in any content mode into its events (one, or a batch's many).
 * Throws CloudEventDecodeError with reason `unsupported-media-type` (a CloudEvents format other than JSON, or
 * neither a CloudEvents content type nor any ce- header) or `malformed` (bad JSON, bad header
 * encoding...), and CloudEventValidationError when the event itself breaks the spec.
 */
export function decodeHttp(message: HttpMessageInput): CloudEvent[] {
  const headers = message.headers;
  if (headers === null || typeof headers !== "object") {
    throw new CloudEventDecodeError("malformed", "headers must be an object");
  }
  const contentType = findContentType(headers);
  if (contentType !== undefined) {
    const essence = mediaTypeEssence(contentType);
    if (essence.startsWith("application/cloudevents-batch")) {
      if (essence !== CLOUDEVENTS_BATCH_JSON) throw unsupportedFormat(contentType);
      return decodeJsonBatchArray(parseBody(message.body));
    }
    if (essence.startsWith("application/cloudevents")) {
      if (essence !== CLOUDEVENTS_JSON) throw unsupportedFormat(contentType);
      return [decodeJsonEventObject(parseBody(message.body))];
    }
  }
  return [decodeBinary(headers, contentType, message.body)];
}

function unsupportedFormat(contentType: string): CloudEventDecodeError {
  return new CloudEventDecodeError(
    "unsupported-media-type",
    `event format ${contentType} is not supported (only the JSON format is)`,
  );
}

function parseBody(body: string | Uint8Array | null | undefined): unknown {
  return parseJsonBody(body, "body");
}

function decodeBinary(
  headers: HttpHeadersInput,
  contentType: string | undefined,
  body: string | Uint8Array | null | undefined,
): CloudEvent {
  const init: Record<string, unknown> = Object.create(null);
  let found = false;
  const keys = Object.keys(headers);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const c0 = key.charCodeAt(0);
    if ((c0 !== 99 && c0 !== 67) || key.length < 4) continue; // quick reject: not c/C
    const lower = key.toLowerCase();
    if (!lower.startsWith(CE_PREFIX)) continue;
    const raw = singleValue(key, headers[key]);
    if (raw === undefined) continue;
    const name = lower.slice(3);
    if (name === "data" || name === "data_base64" || name === "datacontenttype") {
      throw new CloudEventDecodeError(
        "malformed",
        `header ${key} is not allowed in binary mode (${name === "datacontenttype" ? "use Content-Type" : "data travels in the body"})`,
      );
    }
    init[name] = decodeHeaderValue(raw, key);
    found = true;
  }
  if (!found) {
    throw new CloudEventDecodeError(
      "unsupported-media-type",
      `not a CloudEvent: Content-Type ${contentType ?? "(none)"} is no CloudEvents format and there are no ce- headers`,
    );
  }
  if (contentType !== undefined) init["datacontenttype"] = contentType;
  const data = dataFromBody(body, contentType);
  if (data !== NO_DATA) init["data"] = data;
  return createDecodedEvent(init);
}
