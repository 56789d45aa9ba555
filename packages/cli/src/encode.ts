// Encodes a log entry's event for an HTTP sink in the requested CloudEvents content mode.
import { decodeJsonEventObject, encodeHttp } from "@herald/cloudevents";
import type { JsonEventObject } from "@herald/protocol";
import type { ContentMode, HttpMessage } from "./sink.js";

export function encodeForSink(event: JsonEventObject, mode: ContentMode): HttpMessage {
  return encodeHttp(decodeJsonEventObject(event), mode);
}
