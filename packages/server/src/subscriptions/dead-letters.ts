// Dead letters: a `herald.deadletter` CloudEvent in stream `$deadletter-<subscription>` whose data
// holds the original event unchanged plus why it died. Listing reads that stream; redrive picks
// dead letters by original position range and/or filters.
import { randomUUID } from "node:crypto";
import { CloudEvent, decodeJsonEventObject } from "@herald/cloudevents";
import type { StoredEvent } from "@herald/log";
import type { Entry } from "./dispatcher.js";

export const DEAD_LETTER_TYPE = "herald.deadletter";

export type DeathReason = "max-deliveries" | "rejected";

/** The data of a dead-letter event. */
export interface DeadLetterData {
  readonly subscription: string;
  readonly reason: DeathReason;
  readonly attempts: number;
  readonly lastStatus?: number;
  readonly lastError: string;
  readonly firstAttemptAt: string;
  readonly lastAttemptAt: string;
  /** Where the event is in the log, and its stream. */
  readonly position: number;
  readonly stream: string;
  /** The original event in the JSON event format, unchanged. */
  readonly event: Record<string, unknown>;
}

export function deadLetterEvent(subscription: string, entry: Entry, reason: DeathReason): CloudEvent {
  const now = new Date().toISOString();
  const original = JSON.parse(entry.json) as Record<string, unknown>;
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
export interface DeadLetterView extends DeadLetterData {
  /** Version in the dead-letter stream (the paging key and what redrive records). */
  readonly version: number;
  /** Position of the dead letter itself in the log. */
  readonly deadLetterPosition: number;
  readonly redriven: boolean;
}

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
