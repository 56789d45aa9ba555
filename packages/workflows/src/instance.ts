// An instance's stream and its fold. Three record types, all written by the process manager:
//   herald.workflow.stepped     one step: the input's source+id (the inbox), the status entered, the
//                               new state, and the outbox (events to emit, timers to start/cancel)
//   herald.workflow.parked      an event that did not apply yet, kept until it does
//   herald.workflow.dispatched  the outbox of every step up to `through` is published
// Folding them gives the status, the state, the inbox (handled ids), what is parked, and what is
// still to dispatch, so a crash between any two writes is repaired by the next delivery.
import { type CloudEvent, decodeJsonEventObject } from "@herald/cloudevents";
import type { StreamEvent } from "@herald/eventsourcing";

export const STEPPED_TYPE = "herald.workflow.stepped";
export const PARKED_TYPE = "herald.workflow.parked";
export const DISPATCHED_TYPE = "herald.workflow.dispatched";

export interface EventRef {
  readonly source: string;
  readonly id: string;
}

export interface StepRecord {
  readonly seq: number;
  readonly input: EventRef & { readonly type: string };
  readonly status: string;
  /** The seq of the step that entered `status`. */
  readonly entry: number;
  readonly state: unknown;
  readonly emit: readonly Record<string, unknown>[];
  readonly timers: readonly { readonly event: Record<string, unknown>; readonly at: string }[];
  readonly cancel: readonly EventRef[];
}

export interface Folded {
  status: string;
  state: unknown;
  seq: number;
  entry: number;
  version: number;
  readonly handled: Set<string>;
  /** Parked events by inbox key, in arrival order. */
  readonly parked: Map<string, CloudEvent>;
  dispatched: number;
  /** Steps after `dispatched`. */
  readonly pending: StepRecord[];
  /** Timers started in the current entry. */
  active: EventRef[];
}

export function refKey(ref: EventRef): string {
  return `${ref.source}\n${ref.id}`;
}

export function emptyInstance(status: string, state: unknown): Folded {
  return {
    status,
    state,
    seq: 0,
    entry: 0,
    version: -1,
    handled: new Set(),
    parked: new Map(),
    dispatched: 0,
    pending: [],
    active: [],
  };
}

/** Applies one stored record (also used for records just decided, before they are appended). */
export function evolve(folded: Folded, type: string, data: unknown): void {
  if (type === STEPPED_TYPE) {
    const step = data as StepRecord;
    const key = refKey(step.input);
    folded.handled.add(key);
    folded.parked.delete(key);
    if (step.entry === step.seq) folded.active = [];
    folded.active.push(
      ...step.timers.map((t) => ({ source: String(t.event.source), id: String(t.event.id) })),
    );
    folded.status = step.status;
    folded.state = step.state;
    folded.seq = step.seq;
    folded.entry = step.entry;
    if (step.seq > folded.dispatched) folded.pending.push(step);
  } else if (type === PARKED_TYPE) {
    const event = decodeJsonEventObject((data as { event: unknown }).event);
    const key = refKey(event);
    if (!folded.handled.has(key)) folded.parked.set(key, event);
  } else if (type === DISPATCHED_TYPE) {
    const through = (data as { through: number }).through;
    folded.dispatched = Math.max(folded.dispatched, through);
    const rest = folded.pending.filter((s) => s.seq > folded.dispatched);
    folded.pending.length = 0;
    folded.pending.push(...rest);
  }
}

export function foldInstance(events: readonly StreamEvent[], status: string, state: unknown): Folded {
  const folded = emptyInstance(status, state);
  for (const stored of events) {
    evolve(folded, stored.event.type, stored.event.data);
    folded.version = stored.version;
  }
  return folded;
}

/** The JSON event format object of an event (what a record embeds). */
export function eventJson(event: CloudEvent): Record<string, unknown> {
  return event.toJSON();
}

export function eventFromJson(json: Record<string, unknown>): CloudEvent {
  return decodeJsonEventObject(json);
}
