// MQTT protocol binding (mqtt-protocol-binding.md): MQTT 5 binary mode (attributes as User Properties,
// unprefixed; datacontenttype as Content Type) and structured mode; MQTT 3.1.1 is structured only.
// Message shape follows MQTT.js: `payload` plus `properties: { contentType, userProperties }`.
import { CloudEventDecodeError } from "../errors.js";
import { type CloudEvent, createDecodedEvent } from "../event.js";
import { decodeJsonEventObject, encodeJsonEvent } from "../json-format.js";
import { CLOUDEVENTS_JSON } from "../media-type.js";
import { ATTRIBUTE_NAME } from "../type-system.js";
import {
  binaryPayload,
  canonicalString,
  dataFromBody,
  NO_DATA,
  singleValue,
  isStructuredJson,
  parseJsonBody,
} from "./common.js";

export interface MqttMessageInput {
  readonly payload: string | Uint8Array | null;
  readonly properties?: {
    readonly contentType?: string;
    readonly userProperties?: Readonly<Record<string, string | readonly string[] | undefined>>;
  };
}

export interface MqttMessage {
  readonly payload: string | Uint8Array;
  readonly properties?: { contentType?: string; userProperties?: Record<string, string> };
}

const STRUCTURED_CONTENT_TYPE = `${CLOUDEVENTS_JSON}; charset=utf-8`;

/** MQTT 5: binary (User Properties) or structured (JSON payload, Content Type set). */
export function encodeMqtt5(event: CloudEvent, mode: "binary" | "structured" = "binary"): MqttMessage {
  if (mode === "structured") {
    return { payload: encodeJsonEvent(event), properties: { contentType: STRUCTURED_CONTENT_TYPE } };
  }
  const userProperties: Record<string, string> = {};
  for (const name of Object.keys(event)) {
    if (name === "data" || name === "datacontenttype") continue;
    userProperties[name] = canonicalString(event[name]);
  }
  const payload = binaryPayload(event);
  const properties: { contentType?: string; userProperties: Record<string, string> } = { userProperties };
  if (payload.contentType !== undefined) properties.contentType = payload.contentType;
  return { payload: payload.body ?? "", properties };
}

/** MQTT 3.1.1: structured mode only; the JSON event format is implied (no metadata on the message). */
export function encodeMqtt3(event: CloudEvent): MqttMessage {
  return { payload: encodeJsonEvent(event) };
}

/**
 * Decodes an MQTT PUBLISH (3.1.1 or 5): a CloudEvents Content Type means structured mode; a `specversion`
 * User Property means binary mode; otherwise the payload is read as a JSON event (3.1.1 style). In binary
 * mode, User Properties whose names are not attribute names ([a-z0-9]+) belong to the application and are
 * ignored; a `datacontenttype` User Property is used only when there is no Content Type.
 */
export function decodeMqtt(message: MqttMessageInput): CloudEvent {
  if (message === null || typeof message !== "object") {
    throw new CloudEventDecodeError("malformed", "an MQTT message must be an object");
  }
  const contentType = message.properties?.contentType ?? undefined;
  if (isStructuredJson(contentType)) return decodeJsonEventObject(parseJsonBody(message.payload, "payload"));
  const userProperties = message.properties?.userProperties;
  if (userProperties === undefined || userProperties === null || !("specversion" in userProperties)) {
    if (contentType !== undefined) {
      throw new CloudEventDecodeError(
        "unsupported-media-type",
        `not a CloudEvent: Content Type ${contentType} without a specversion User Property`,
      );
    }
    return decodeJsonEventObject(parseJsonBody(message.payload, "payload"));
  }
  const init: Record<string, unknown> = Object.create(null);
  let propertyContentType: string | undefined;
  for (const name of Object.keys(userProperties)) {
    if (!ATTRIBUTE_NAME.test(name)) continue;
    const value = singleValue(name, userProperties[name]);
    if (value === undefined) continue;
    if (name === "data") {
      throw new CloudEventDecodeError(
        "malformed",
        "User Property data is not allowed: data travels in the payload",
      );
    }
    if (name === "datacontenttype") propertyContentType = value;
    else init[name] = value;
  }
  const dataContentType = contentType ?? propertyContentType;
  if (dataContentType !== undefined) init["datacontenttype"] = dataContentType;
  const data = dataFromBody(message.payload, dataContentType);
  if (data !== NO_DATA) init["data"] = data;
  return createDecodedEvent(init);
}
