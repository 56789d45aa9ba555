// The one place where the log turns events into stored text and back, so the JSON event
// format is encoded once per append and decoded only when a reader asks for the event.
// Stored text was written here from an already-validated CloudEvent, so reads take the trusted
// decode (no second validation on every read, e.g. per push delivery).
import { type CloudEvent, decodeTrustedJsonEvent, encodeJsonEvent } from "@herald/cloudevents";

export function encodeEvent(event: CloudEvent): string {
  return encodeJsonEvent(event);
}

export function decodeEvent(json: string): CloudEvent {
  return decodeTrustedJsonEvent(json);
}
