// Deterministic ids for events a handler emits: the same handled event re-emits the same ids, so a
// redelivery followed by a second publish is deduplicated by the broker (source+id).
import { createHash } from "node:crypto";
import type { CloudEvent } from "@herald/cloudevents";

/** UUID-shaped (version 8, RFC 9562) hash of the handled event's source, id and the emit index (-1 = reply). */
export function derivedEventId(handled: Pick<CloudEvent, "source" | "id">, index: number): string {
  const hex = createHash("sha256").update(`${handled.source}\n${handled.id}\n${index}`).digest("hex");
  const variant = ((Number.parseInt(hex[16] ?? "0", 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
