// The one place where the log turns events into stored text and back, so the JSON event
// format is encoded once per append and decoded only when a reader asks for the event.
import { type CloudEvent, decodeJsonEvent, encodeJsonEvent } from "@herald/cloudevents";

export function encodeEvent(event: CloudEvent): string {
  return encodeJsonEvent(event);
}

export function decodeEvent(json: string): CloudEvent {
  return decodeJsonEvent(json);
}
