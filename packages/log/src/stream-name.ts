import { type CloudEvent, orderingKey } from "@herald/cloudevents";

/** The stream an event belongs to when the append names none: its ordering key (`partitionkey`, else `subject`, else `source`). */
export function deriveStream(event: CloudEvent): string {
  return orderingKey(event);
}
