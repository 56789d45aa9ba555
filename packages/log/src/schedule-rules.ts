// Argument checks and shared planning of scheduled delivery (ScheduleStore), used by every backend.
import { checkAppendArguments, checkNonNegativeInteger, DEFAULT_READ_LIMIT } from "./append-rules.js";
import { eventKey } from "./dedupe.js";
import { LogInputError } from "./errors.js";
import { decodeEvent } from "./event-codec.js";
import type {
  AppendResult,
  ListScheduledOptions,
  ScheduledEvent,
  ScheduleRequest,
  ScheduleResult,
} from "./event-log.js";
import { deriveStream } from "./stream-name.js";

/** Due events one release takes by default (one transaction). */
export const DEFAULT_RELEASE_LIMIT = 500;

/** Checks `add`'s arguments; answers the stream each request goes to. */
export function checkScheduleArguments(
  requests: readonly ScheduleRequest[],
  options?: { readonly stream?: string },
): string[] {
  if (!Array.isArray(requests)) throw new LogInputError("schedule takes an array of requests");
  for (const request of requests) {
    if (typeof request !== "object" || request === null)
      throw new LogInputError("every schedule request must be an object");
    checkNonNegativeInteger("deliverAt", request.deliverAt);
  }
  const { stream } = checkAppendArguments(
    requests.map((request) => request.event),
    options?.stream === undefined ? undefined : { stream: options.stream },
  );
  return requests.map((request) => stream ?? deriveStream(request.event));
}

export function checkReleaseArguments(now: number, limit: number | undefined): number {
  checkNonNegativeInteger("now", now);
  const max = limit ?? DEFAULT_RELEASE_LIMIT;
  if (!Number.isSafeInteger(max) || max < 1)
    throw new LogInputError(`limit must be a positive integer, got ${String(max)}`);
  return max;
}

export function checkCancelArguments(source: string, id: string): void {
  if (typeof source !== "string" || source === "" || typeof id !== "string" || id === "")
    throw new LogInputError("cancel needs a non-empty source and id");
}

export function checkListScheduledOptions(options?: ListScheduledOptions): { after: number; limit: number } {
  const after = options?.after ?? 0;
  const limit = options?.limit ?? DEFAULT_READ_LIMIT;
  checkNonNegativeInteger("after", after);
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new LogInputError(`limit must be a positive integer, got ${String(limit)}`);
  return { after, limit };
}

/** The answer for a newly pending event, or for a pending first copy (duplicate). */
export function pendingResult(
  source: string,
  id: string,
  stream: string,
  deliverAt: number,
  duplicate: boolean,
): ScheduleResult {
  return { id, source, position: 0, stream, version: -1, duplicate, scheduled: true, deliverAt };
}

/** The answer for an event whose source+id is already in the log. */
export function inLogResult(first: AppendResult): ScheduleResult {
  return { ...first, duplicate: true, scheduled: false };
}

/**
 * Plans an `add`: which requests are new (by index), and the answer of each, given lookups of the
 * first copy in the log and among pending events. Duplicates inside the batch answer the earlier one.
 */
export function planSchedule(
  requests: readonly ScheduleRequest[],
  streams: readonly string[],
  inLog: (source: string, id: string) => AppendResult | undefined,
  pending: (source: string, id: string) => { stream: string; deliverAt: number } | undefined,
): { results: ScheduleResult[]; fresh: number[] } {
  const results: ScheduleResult[] = [];
  const fresh: number[] = [];
  const inBatch = new Map<string, ScheduleResult>();
  requests.forEach(({ event, deliverAt }, index) => {
    const logged = inLog(event.source, event.id);
    if (logged !== undefined) {
      results.push(inLogResult(logged));
      return;
    }
    const held = pending(event.source, event.id);
    if (held !== undefined) {
      results.push(pendingResult(event.source, event.id, held.stream, held.deliverAt, true));
      return;
    }
    const key = eventKey(event.source, event.id);
    const earlier = inBatch.get(key);
    if (earlier !== undefined) {
      results.push({ ...earlier, duplicate: true });
      return;
    }
    const result = pendingResult(event.source, event.id, streams[index]!, deliverAt, false);
    inBatch.set(key, result);
    results.push(result);
    fresh.push(index);
  });
  return { results, fresh };
}

/** A pending event as a backend read it back (decodes its JSON on first access). */
export class LazyScheduledEvent implements ScheduledEvent {
  readonly seq: number;
  readonly source: string;
  readonly id: string;
  readonly stream: string;
  readonly deliverAt: number;
  readonly json: string;
  #event: ScheduledEvent["event"] | undefined;
  constructor(seq: number, source: string, id: string, stream: string, deliverAt: number, json: string) {
    this.seq = seq;
    this.source = source;
    this.id = id;
    this.stream = stream;
    this.deliverAt = deliverAt;
    this.json = json;
  }
  get event(): ScheduledEvent["event"] {
    if (this.#event === undefined) this.#event = decodeEvent(this.json);
    return this.#event;
  }
}
