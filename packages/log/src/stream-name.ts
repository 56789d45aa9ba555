import type { CloudEvent } from "@herald/cloudevents";

/** The stream an event belongs to when the append names none: `partitionkey`, else `subject`, else `source`. */
export function deriveStream(event: CloudEvent): string {
  const attributes = event as unknown as Readonly<Record<string, unknown>>;
  const partitionKey = attributes["partitionkey"];
  if (typeof partitionKey === "string" && partitionKey !== "") return partitionKey;
  const subject = attributes["subject"];
  if (typeof subject === "string" && subject !== "") return subject;
  return event.source;
}
