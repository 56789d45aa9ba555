// AMQP protocol binding (amqp-protocol-binding.md): binary mode in application-properties with the
// `cloudEvents_` prefix (`cloudEvents:` also read), native AMQP types or canonical strings; structured mode.
import { CloudEventDecodeError } from "../errors.js";
import { type CloudEvent, createDecodedEvent } from "../event.js";
import { decodeJsonEventObject, encodeJsonEvent } from "../json-format.js";
import { CLOUDEVENTS_JSON } from "../media-type.js";
import { INT32_MAX, INT32_MIN } from "../type-system.js";
import { binaryPayload, dataFromBody, NO_DATA, isStructuredJson, parseJsonBody } from "./common.js";

/** Application-property values as AMQP clients (rhea, amqplib) hand them over. */
export type AmqpValue = string | number | bigint | boolean | Uint8Array | Date | null | undefined;

export interface AmqpMessageInput {
  /** The `content-type` field of the AMQP properties section. */
  readonly contentType?: string;
  readonly applicationProperties?: Readonly<Record<string, AmqpValue>>;
  /** The application-data section. */
  readonly body?: string | Uint8Array | null;
}

export interface AmqpMessage {
  readonly contentType?: string;
  readonly applicationProperties: Record<string, string | number | boolean | Uint8Array>;
  readonly body: string | Uint8Array | null;
}

const PREFIX = "cloudEvents_";
const STRUCTURED_CONTENT_TYPE = `${CLOUDEVENTS_JSON}; charset=utf-8`;
/**
 * Encodes an event as an AMQP message. Binary mode uses native AMQP types for Integer, Boolean and Binary;
 * Timestamps travel as their canonical string (allowed by the spec) because an AMQP timestamp has only
 * millisecond precision and no offset, so `time` would not survive the trip unchanged.
 */
export function encodeAmqp(event: CloudEvent, mode: "binary" | "structured" = "binary"): AmqpMessage {
  if (mode === "structured") {
    return { contentType: STRUCTURED_CONTENT_TYPE, applicationProperties: {}, body: encodeJsonEvent(event) };
  }
  const applicationProperties: Record<string, string | number | boolean | Uint8Array> = {};
  for (const name of Object.keys(event)) {
    if (name === "data" || name === "datacontenttype") continue;
    applicationProperties[PREFIX + name] = event[name] as string | number | boolean | Uint8Array;
  }
  const payload = binaryPayload(event);
  const body = payload.body ?? null;
  return payload.contentType === undefined
    ? { applicationProperties, body }
    : { contentType: payload.contentType, applicationProperties, body };
}

/** A native AMQP value as the CloudEvents value it stands for. */
function fromAmqpValue(name: string, value: AmqpValue): unknown {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) {
      throw new CloudEventDecodeError("malformed", `application property ${name} is an invalid timestamp`);
    }
    return value.toISOString();
  }
  if (typeof value === "bigint") {
    // AMQP long: the CloudEvents Integer is 32-bit, so anything wider fails validation as a number.
    return value >= BigInt(INT32_MIN) && value <= BigInt(INT32_MAX) ? Number(value) : Number.NaN;
  }
  return value;
}

/** Decodes an AMQP message (either mode). */
export function decodeAmqp(message: AmqpMessageInput): CloudEvent {
  if (message === null || typeof message !== "object") {
    throw new CloudEventDecodeError("malformed", "an AMQP message must be an object");
  }
  const contentType = message.contentType ?? undefined;
  if (isStructuredJson(contentType)) return decodeJsonEventObject(parseJsonBody(message.body, "body"));
  const init: Record<string, unknown> = Object.create(null);
  let found = false;
  const props = message.applicationProperties ?? {};
  for (const key of Object.keys(props)) {
    if (key.length <= PREFIX.length) continue;
    const prefix = key.slice(0, PREFIX.length).toLowerCase();
    if (prefix !== "cloudevents_" && prefix !== "cloudevents:") continue;
    const value = props[key];
    if (value === undefined || value === null) continue;
    const name = key.slice(PREFIX.length);
    if (name === "data" || name === "data_base64" || name === "datacontenttype") {
      throw new CloudEventDecodeError(
        "malformed",
        `application property ${key} is not allowed in binary mode (use content-type / the body)`,
      );
    }
    init[name] = fromAmqpValue(key, value);
    found = true;
  }
  if (!found) {
    throw new CloudEventDecodeError(
      "unsupported-media-type",
      "not a CloudEvent: no cloudEvents_ properties and no CloudEvents content-type",
    );
  }
  if (contentType !== undefined) init["datacontenttype"] = contentType;
  const data = dataFromBody(message.body, contentType);
  if (data !== NO_DATA) init["data"] = data;
  return createDecodedEvent(init);
}
