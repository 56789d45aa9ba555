// Encodes a log entry's event for an HTTP sink in the requested CloudEvents content mode.
import { decodeJsonEventObject, encodeHttp } from "@herald/cloudevents";
import type { JsonEvent } from "./api-client.js";
import type { ContentMode, HttpMessage } from "./sink.js";

export function encodeForSink(event: JsonEvent, mode: ContentMode): HttpMessage {
  return encodeHttp(decodeJsonEventObject(event), mode);
}
