// Kafka protocol binding (kafka-protocol-binding.md 1.0.2): binary (ce_ headers) and structured modes.
// Plain message structures in and out (kafkajs-like); no Kafka client here.
import { CloudEventDecodeError } from "../errors.js";
import { type CloudEvent, createDecodedEvent } from "../event.js";
import { decodeJsonEventObject, encodeJsonEvent } from "../json-format.js";
import { CLOUDEVENTS_JSON } from "../media-type.js";
import {
  binaryPayload,
  isStructuredJson,
  parseJsonBody,
  canonicalString,
  dataFromBody,
  decodeUtf8,
  NO_DATA,
  singleValue,
} from "./common.js";

export type KafkaHeaderValue = string | Uint8Array;

/** A Kafka record as a consumer hands it over (kafkajs shape: headers may be Buffers or arrays). */
export interface KafkaMessageInput {
  readonly key?: string | Uint8Array | null;
  readonly headers?: Readonly<Record<string, KafkaHeaderValue | readonly KafkaHeaderValue[] | undefined>>;
  readonly value: string | Uint8Array | null;
}

/** A Kafka record to produce. `value` is null for a binary-mode event without data (a tombstone). */
export interface KafkaMessage {
  readonly key?: string | Uint8Array;
  readonly headers: Record<string, string>;
  readonly value: string | Uint8Array | null;
}

export interface KafkaEncodeOptions {
  /** The record key (the spec's default: the user-provided key). */
  readonly key?: string | Uint8Array;
  /** Opt-in key mapper: use the `partitionkey` extension as the key when no key is given. */
  readonly keyFromPartitionKey?: boolean;
}

const CE_PREFIX = "ce_";
const STRUCTURED_CONTENT_TYPE = `${CLOUDEVENTS_JSON}; charset=utf-8`;

function recordKey(
  event: CloudEvent,
  options: KafkaEncodeOptions | undefined,
): string | Uint8Array | undefined {
  if (options?.key !== undefined) return options.key;
  const pk = event["partitionkey"];
  return options?.keyFromPartitionKey === true && typeof pk === "string" ? pk : undefined;
}

/** Encodes an event as a Kafka record; Kafka has no batched mode. */
export function encodeKafka(
  event: CloudEvent,
  mode: "binary" | "structured" = "binary",
  options?: KafkaEncodeOptions,
): KafkaMessage {
  const key = recordKey(event, options);
  if (mode === "structured") {
    const message = { headers: { "content-type": STRUCTURED_CONTENT_TYPE }, value: encodeJsonEvent(event) };
    return key === undefined ? message : { key, ...message };
  }
  const headers: Record<string, string> = {};
  const keys = Object.keys(event);
  for (let i = 0; i < keys.length; i++) {
    const name = keys[i]!;
    if (name === "data" || name === "datacontenttype") continue;
    headers[CE_PREFIX + name] = canonicalString(event[name]);
  }
  const payload = binaryPayload(event);
  if (payload.contentType !== undefined) headers["content-type"] = payload.contentType;
  const message = { headers, value: payload.body ?? null };
  return key === undefined ? message : { key, ...message };
}

function headerText(
  name: string,
  value: KafkaHeaderValue | readonly KafkaHeaderValue[] | undefined,
): string | undefined {
  const single = singleValue<KafkaHeaderValue>(name, value);
  if (single === undefined) return undefined;
  return typeof single === "string" ? single : decodeUtf8(single, `header ${name}`);
}

/**
 * Decodes a Kafka record (either mode). The record key is not an attribute and is not mapped back.
 * Throws CloudEventDecodeError (`unsupported-media-type`, `malformed`) or CloudEventValidationError.
 */
export function decodeKafka(message: KafkaMessageInput): CloudEvent {
  if (message === null || typeof message !== "object") {
    throw new CloudEventDecodeError("malformed", "a Kafka message must be an object");
  }
  const headers = message.headers ?? {};
  let contentType: string | undefined;
  let ceContentType: string | undefined;
  const init: Record<string, unknown> = Object.create(null);
  let found = false;
  for (const key of Object.keys(headers)) {
    const lower = key.toLowerCase();
    if (lower === "content-type") {
      contentType = headerText(key, headers[key]);
      continue;
    }
    if (!lower.startsWith(CE_PREFIX)) continue;
    const value = headerText(key, headers[key]);
    if (value === undefined) continue;
    const name = lower.slice(CE_PREFIX.length);
    if (name === "data" || name === "data_base64") {
      throw new CloudEventDecodeError("malformed", `header ${key} is not allowed: data travels in the value`);
    }
    // The official SDK also writes ce_datacontenttype; the content-type header wins when both are there.
    if (name === "datacontenttype") ceContentType = value;
    else init[name] = value;
    found = true;
  }
  if (isStructuredJson(contentType)) return decodeJsonEventObject(parseJsonBody(message.value, "value"));
  if (!found) {
    throw new CloudEventDecodeError(
      "unsupported-media-type",
      "not a CloudEvent: no ce_ headers and no CloudEvents content-type",
    );
  }
  const dataContentType = contentType ?? ceContentType;
  if (dataContentType !== undefined) init["datacontenttype"] = dataContentType;
  const data = dataFromBody(message.value, dataContentType);
  if (data !== NO_DATA) init["data"] = data;
  return createDecodedEvent(init);
}
