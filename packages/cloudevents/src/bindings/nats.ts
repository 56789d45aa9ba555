// NATS protocol binding: structured mode (the JSON event format as payload, nats-protocol-binding 1.0.2) and,
// for NATS 2.2+ headers, binary mode with percent-encoded `ce-` headers (the binding's later revision).
import { CloudEventDecodeError } from "../errors.js";
import { type CloudEvent, createDecodedEvent } from "../event.js";
import { decodeJsonEventObject, encodeJsonEvent } from "../json-format.js";
import { CLOUDEVENTS_JSON } from "../media-type.js";
import {
  binaryPayload,
  canonicalString,
  dataFromBody,
  NO_DATA,
  singleValue,
  isStructuredJson,
  parseJsonBody,
} from "./common.js";
import { decodeHeaderValue, encodeHeaderValue } from "./header-value.js";

export interface NatsMessageInput {
  /** NATS headers (case-insensitive names), if the message has any. */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly data: string | Uint8Array | null;
}

export interface NatsMessage {
  readonly headers?: Record<string, string>;
  readonly data: string | Uint8Array;
}

const CE_PREFIX = "ce-";
const STRUCTURED_CONTENT_TYPE = `${CLOUDEVENTS_JSON}; charset=utf-8`;

/**
 * Structured (default; readable by any NATS server and by 1.0.2 receivers) or binary (headers, NATS 2.2+).
 * Structured mode adds a Content-Type header only when `withHeaders` is set (servers before 2.2 have none).
 */
export function encodeNats(
  event: CloudEvent,
  mode: "binary" | "structured" = "structured",
  options?: { readonly withHeaders?: boolean },
): NatsMessage {
  if (mode === "structured") {
    const data = encodeJsonEvent(event);
    return options?.withHeaders === true
      ? { headers: { "content-type": STRUCTURED_CONTENT_TYPE }, data }
      : { data };
  }
  const headers: Record<string, string> = {};
  for (const name of Object.keys(event)) {
    if (name === "data") continue;
    headers[CE_PREFIX + name] = encodeHeaderValue(canonicalString(event[name]));
  }
  const payload = binaryPayload(event);
  if (payload.contentType !== undefined)
    headers["ce-datacontenttype"] = encodeHeaderValue(payload.contentType);
  return { headers, data: payload.body ?? "" };
}

/**
 * Decodes a NATS message: a CloudEvents Content-Type header or no `ce-` header at all means structured
 * mode (as with servers before 2.2); otherwise binary mode from the `ce-` headers.
 */
export function decodeNats(message: NatsMessageInput): CloudEvent {
  if (message === null || typeof message !== "object") {
    throw new CloudEventDecodeError("malformed", "a NATS message must be an object");
  }
  const headers = message.headers ?? {};
  let contentType: string | undefined;
  const init: Record<string, unknown> = Object.create(null);
  let found = false;
  for (const key of Object.keys(headers)) {
    const lower = key.toLowerCase();
    if (lower === "content-type") {
      contentType = singleValue(key, headers[key]);
      continue;
    }
    if (!lower.startsWith(CE_PREFIX)) continue;
    const raw = singleValue(key, headers[key]);
    if (raw === undefined) continue;
    const name = lower.slice(CE_PREFIX.length);
    if (name === "data" || name === "data_base64") {
      throw new CloudEventDecodeError(
        "malformed",
        `header ${key} is not allowed: data travels in the payload`,
      );
    }
    init[name] = decodeHeaderValue(raw, key);
    found = true;
  }
  if (isStructuredJson(contentType)) return decodeJsonEventObject(parseJsonBody(message.data, "payload"));
  if (!found) return decodeJsonEventObject(parseJsonBody(message.data, "payload"));
  // Binary mode: ce-datacontenttype is the spec's header; a plain Content-Type is accepted when it is absent.
  if (init["datacontenttype"] === undefined && contentType !== undefined)
    init["datacontenttype"] = contentType;
  const declared = init["datacontenttype"];
  const data = dataFromBody(message.data, typeof declared === "string" ? declared : undefined);
  if (data !== NO_DATA) init["data"] = data;
  return createDecodedEvent(init);
}
