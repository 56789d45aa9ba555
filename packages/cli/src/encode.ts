// Encodes an event for an HTTP sink in the requested CloudEvents content mode.
import type { JsonEvent } from "./api-client.js";
import { type ContentMode, encodeStructured, type HttpMessage } from "./sink.js";

export function encodeForSink(event: JsonEvent, mode: ContentMode): HttpMessage {
  // TODO(cli): binary mode through encodeHttp from @herald/cloudevents once it lands.
  void mode;
  return encodeStructured(event);
}
