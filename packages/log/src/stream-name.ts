import type { CloudEvent } from "@herald/cloudevents";

/** The stream an event belongs to when the append names none: `partitionkey`, else `subject`, else `source`. */
export function deriveStream(event: CloudEvent): string {
  const partitionKey = event["partitionkey"];
  if (typeof partitionKey === "string" && partitionKey !== "") return partitionKey;
  const subject = event.subject;
  if (typeof subject === "string" && subject !== "") return subject;
  return event.source;
}
