// The types of a process definition and of what a process manager stores, apart from the code that
// runs them (nats.js kv/src/types.ts style).
import type { CloudEvent, CloudEventInit } from "@herald/cloudevents";
import type { EventCatalog } from "@herald/eventsourcing";
import type { EventData } from "@herald/sdk";

/** An event a step emits: `source` defaults to the process's source, `id` to a deterministic one. */
export type EmittedInit = Pick<CloudEventInit, "type"> &
  Partial<
    Pick<CloudEventInit, "id" | "source" | "datacontenttype" | "dataschema" | "subject" | "time" | "data">
  > & {
    readonly [extension: string]: unknown;
  };

/** A durable timer to start: fires once `after` ms from now, or at `at`. */
export interface TimeoutRequest {
  /** The handler in `onTimeout` that runs when it fires. */
  readonly name: string;
  readonly after?: number;
  readonly at?: Date | string;
}

/**
 * What a step decides. Every member is optional: `{}` consumes the event and changes nothing.
 * Setting `status` (even to the current one) enters that status: the timers of the previous entry are
 * cancelled (a timer only fires while the instance is still in the entry that scheduled it).
 */
export interface Transition<State> {
  readonly status?: string;
  readonly state?: State;
  /** Commands and events, published once the step is stored (correlationid/causationid stamped). */
  readonly emit?: readonly EmittedInit[];
  readonly timeouts?: readonly TimeoutRequest[];
}

/** One instance as a step sees it. */
export interface InstanceView<State> {
  readonly key: string;
  readonly status: string;
  readonly state: State;
}

export interface StepContext {
  /** The manager's clock (the test clock in given/when/then). */
  now(): Date;
}

/** The data of a fired timer, as the timeout handler gets it. */
export interface TimerData {
  readonly process: string;
  readonly key: string;
  readonly name: string;
  /** The status and the entry (step sequence) that scheduled it. */
  readonly status: string;
  readonly entry: number;
  /** RFC 3339: when it is due. */
  readonly at: string;
}

/**
 * A step: the instance and the event → a transition, or `undefined` when the event does not apply in
 * this status yet (it is parked in the instance's stream and offered again after each transition;
 * this is how a reply that overtakes the event that starts the instance is kept).
 */
export type Step<State, Data> = (
  instance: InstanceView<State>,
  event: CloudEvent<Data> & { readonly data: Data },
  ctx: StepContext,
) => Transition<State> | undefined;

export type TimeoutStep<State> = (
  instance: InstanceView<State>,
  timer: TimerData,
  ctx: StepContext,
) => Transition<State> | undefined;

/** `{ "order.placed": { orderId: string }, … }`: the event types a process reacts to and their data. */
export type EventMap = Readonly<Record<string, unknown>>;

/** The EventMap of an event catalog (`{ "order.placed": OrderPlaced, … }` of defineEvent definitions). */
export type EventMapOf<C extends EventCatalog> = { readonly [K in keyof C & string]: EventData<C[K]> };

export interface ProcessDefinition<State, Events extends EventMap> {
  /** Names the instance streams (`workflow.<name>.<key>`) and the default source. */
  readonly name: string;
  /** `source` of what it emits (default `urn:herald:workflow:<name>`). */
  readonly source?: string;
  /** The instance an event belongs to (default: its correlationid, or its id when it has none). */
  readonly correlate?: (event: CloudEvent) => string | undefined;
  readonly initialState: () => State;
  /** The status of an instance that has not handled anything yet (default "new"). */
  readonly initialStatus?: string;
  /** Statuses in which the instance is done: later events are ignored, not parked. */
  readonly final?: readonly string[];
  /**
   * defineEvent definitions of the events it reacts to (optional). When given, an event of a catalog
   * type is upcast and validated before its step (parked events too); one that fails validation is
   * refused as non-retryable (the broker dead-letters it).
   */
  readonly events?: EventCatalog;
  readonly on: { readonly [K in keyof Events & string]?: Step<State, Events[K]> };
  readonly onTimeout?: Readonly<Record<string, TimeoutStep<State>>>;
}

/** An instance as its stream records it. */
export interface InstanceSnapshot<State> {
  readonly key: string;
  readonly stream: string;
  readonly status: string;
  readonly state: State;
  /** Steps taken (0: not started). */
  readonly steps: number;
  /** The instance stream's version (-1: no stream). */
  readonly version: number;
  /** Events kept until they apply (see Step). */
  readonly parked: readonly CloudEvent[];
  /** Steps whose emitted events and timers are not confirmed published yet. */
  readonly undispatched: number;
}

/** What handling one event did. */
export type HandleOutcome =
  | "stepped" // one or more steps stored and dispatched
  | "parked" // kept in the instance stream until it applies
  | "duplicate" // already handled (its outputs re-dispatched if needed)
  | "ignored" // no key, a final instance, or a timer of another process
  | "stale-timer"; // the instance left the entry that scheduled the timer
