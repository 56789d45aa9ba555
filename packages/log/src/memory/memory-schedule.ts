// Scheduled delivery of the in-memory log: pending events in a map, released through the log's
// synchronous append, so a release is atomic like every other memory call.
import type { CloudEvent } from "@herald/cloudevents";
import { eventKey } from "../dedupe.js";
import { StreamDeletedError } from "../errors.js";
import { encodeEvent } from "../event-codec.js";
import type {
  AppendResult,
  CancelOutcome,
  ListScheduledOptions,
  ScheduledEvent,
  ScheduledPage,
  ScheduleRequest,
  ScheduleResult,
  ScheduleStore,
} from "../event-log.js";
import {
  checkCancelArguments,
  checkListScheduledOptions,
  checkReleaseArguments,
  checkScheduleArguments,
  LazyScheduledEvent,
  planSchedule,
} from "../schedule-rules.js";

export interface MemoryScheduleHooks {
  readonly checkOpen: () => void;
  /** The first copy of source+id in the log. */
  readonly inLog: (source: string, id: string) => AppendResult | undefined;
  /** Appends at once, synchronously, to `stream`. */
  readonly appendNow: (events: readonly CloudEvent[], stream: string) => readonly AppendResult[];
}

export class MemorySchedule implements ScheduleStore {
  readonly #hooks: MemoryScheduleHooks;
  readonly #pending = new Map<string, ScheduledEvent>();
  #seq = 0;

  constructor(hooks: MemoryScheduleHooks) {
    this.#hooks = hooks;
  }

  async add(
    requests: readonly ScheduleRequest[],
    options?: { readonly stream?: string },
  ): Promise<readonly ScheduleResult[]> {
    this.#hooks.checkOpen();
    const streams = checkScheduleArguments(requests, options);
    const { results, fresh } = planSchedule(requests, streams, this.#hooks.inLog, (source, id) =>
      this.#pending.get(eventKey(source, id)),
    );
    for (const index of fresh) {
      const { event, deliverAt } = requests[index]!;
      this.#seq += 1;
      this.#pending.set(
        eventKey(event.source, event.id),
        new LazyScheduledEvent(
          this.#seq,
          event.source,
          event.id,
          streams[index]!,
          deliverAt,
          encodeEvent(event),
        ),
      );
    }
    return results;
  }

  async release(now: number, limit?: number): Promise<readonly AppendResult[]> {
    this.#hooks.checkOpen();
    const max = checkReleaseArguments(now, limit);
    const due = [...this.#pending.values()]
      .filter((entry) => entry.deliverAt <= now)
      .sort((a, b) => a.deliverAt - b.deliverAt || a.seq - b.seq)
      .slice(0, max);
    const results: AppendResult[] = [];
    for (const entry of due) {
      this.#pending.delete(eventKey(entry.source, entry.id));
      try {
        results.push(...this.#hooks.appendNow([entry.event], entry.stream));
      } catch (error) {
        // Its stream was deleted while it waited: the event is dropped (it cannot be appended).
        if (!(error instanceof StreamDeletedError)) throw error;
      }
    }
    return results;
  }

  async cancel(source: string, id: string): Promise<CancelOutcome> {
    this.#hooks.checkOpen();
    checkCancelArguments(source, id);
    if (this.#pending.delete(eventKey(source, id))) return "cancelled";
    return this.#hooks.inLog(source, id) === undefined ? "unknown" : "released";
  }

  async list(options?: ListScheduledOptions): Promise<ScheduledPage> {
    this.#hooks.checkOpen();
    const { after, limit } = checkListScheduledOptions(options);
    const entries = [...this.#pending.values()]
      .filter((entry) => entry.seq > after)
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit);
    return { entries, next: entries.length === 0 ? after : entries[entries.length - 1]!.seq };
  }

  async next(): Promise<number | undefined> {
    this.#hooks.checkOpen();
    let earliest: number | undefined;
    for (const entry of this.#pending.values())
      if (earliest === undefined || entry.deliverAt < earliest) earliest = entry.deliverAt;
    return earliest;
  }
}
