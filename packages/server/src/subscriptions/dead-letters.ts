// Dead letters: a `herald.deadletter` CloudEvent in stream `$deadletter-<subscription>` whose data
// holds the original event unchanged plus why it died. Listing reads that stream; redrive picks
// dead letters by original position range and/or filters.
import { randomUUID } from "node:crypto";
import { CloudEvent, decodeJsonEventObject } from "@herald/cloudevents";
import type { StoredEvent } from "@herald/log";
import {
  DEAD_LETTER_EVENT_TYPE,
  type DeadLetterData,
  type DeadLetterReason,
  type DeadLetterRecord,
  type JsonEventObject,
} from "@herald/protocol";
import type { Entry } from "./window.js";

export const DEAD_LETTER_TYPE = DEAD_LETTER_EVENT_TYPE;
export type DeathReason = DeadLetterReason;
export type { DeadLetterData };

export function deadLetterEvent(subscription: string, entry: Entry, reason: DeathReason): CloudEvent {
  const now = new Date().toISOString();
  // The stored JSON of a validated event: a CloudEvent in the JSON format.
  const original = JSON.parse(entry.json) as JsonEventObject;
  const data: DeadLetterData = {
    subscription,
    reason,
    attempts: entry.deliveryCount,
    ...(entry.lastFailure?.status !== undefined ? { lastStatus: entry.lastFailure.status } : {}),
    lastError: entry.lastFailure?.error ?? reason,
    firstAttemptAt: new Date(entry.firstAttemptAt ?? Date.now()).toISOString(),
    lastAttemptAt: new Date(entry.lastAttemptAt ?? Date.now()).toISOString(),
    position: entry.position,
    stream: entry.stream,
    event: original,
  };
  return new CloudEvent({
    specversion: "1.0",
    id: randomUUID(),
    source: `/herald/subscriptions/${encodeURIComponent(subscription)}`,
    type: DEAD_LETTER_TYPE,
    ...(typeof original.id === "string" && original.id.length > 0 ? { subject: original.id } : {}),
    time: now,
    datacontenttype: "application/json",
    data,
  });
}

/** A dead letter as listed by the API. */
export type DeadLetterView = DeadLetterRecord;

export function readDeadLetter(stored: StoredEvent): DeadLetterData | undefined {
  const parsed = JSON.parse(stored.json) as { type?: unknown; data?: unknown };
  if (parsed.type !== DEAD_LETTER_TYPE || typeof parsed.data !== "object" || parsed.data === null)
    return undefined;
  return parsed.data as DeadLetterData;
}

/** The original event of a dead letter, decoded (for filters and push). */
export function originalEvent(data: DeadLetterData): CloudEvent {
  return decodeJsonEventObject(data.event);
}
