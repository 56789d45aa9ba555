// The process manager: runs a ProcessDefinition over an EventStore (the log, or herald serve).
//
// Handling one event: load the instance's stream and fold it; if the event's source+id is in the
// inbox, only re-dispatch what is not confirmed published ("duplicate"); otherwise run the step and
// append its record with the version the decision was based on (a concurrent writer of the same
// instance makes the append fail, and the event is decided again on the fresher state). A step that
// does not apply yet parks the event in the same stream, so a reply that overtakes the event that
// starts the instance is not lost: the first append creates the stream (`no-stream`), whichever of
// the two events comes first. After each step the parked events are offered again. Then the step's
// outbox is dispatched (events published with deterministic ids, timers scheduled, old timers
// cancelled) and a `dispatched` record written. Nothing is acknowledged before all of that: a crash
// anywhere means a redelivery, and the redelivery finds the step in the inbox and finishes it.
import { CloudEvent } from "@herald/cloudevents";
import type { EventStore } from "@herald/eventsourcing";
import type { OutboxPublisher } from "@herald/eventsourcing";
import { VersionConflictError } from "@herald/log";
import {
  type AutoConsumeOptions,
  backoffDelay,
  type Consumer,
  correlationOf,
  derivedEventId,
  type Handler,
  type HeraldClient,
  RetryableError,
  type SubscriptionConfig,
  sleep,
  withTraceContext,
} from "@herald/sdk";
import { InstanceConflictError, StepError } from "./errors.js";
import {
  DISPATCHED_TYPE,
  type EventRef,
  eventFromJson,
  evolve,
  type Folded,
  foldInstance,
  PARKED_TYPE,
  refKey,
  STEPPED_TYPE,
  type StepRecord,
} from "./instance.js";
import { type Clock, systemClock, TIMER_EVENT_TYPE, type TimerScheduler, timerData } from "./timers.js";
import type {
  EventMap,
  HandleOutcome,
  InstanceSnapshot,
  ProcessDefinition,
  Step,
  StepContext,
  TimerData,
  Transition,
} from "./types.js";

export interface ProcessManagerOptions<State, Events extends EventMap> {
  readonly definition: ProcessDefinition<State, Events>;
  /** Where instance streams live: `eventLogStore(log)` or `heraldStore(client)` (@herald/eventsourcing). */
  readonly store: EventStore;
  /** Publishes emitted events, atomically per call (`heraldPublisher(client)`). */
  readonly publish: OutboxPublisher;
  readonly timers: TimerScheduler;
  readonly clock?: Clock;
  /** Appends retried after a version conflict before the event is failed (redelivered) (default 10). */
  readonly maxRetries?: number;
  /** A timer cancel that failed (never fails the step: a stale timer is ignored when it fires). */
  readonly onCancelError?: (error: unknown) => void;
  /** Sees each event `handle` finished, with what it did (logs, metrics). */
  readonly onHandled?: (event: CloudEvent, outcome: HandleOutcome) => void;
}

export interface RunOptions {
  /** Subscription id (default `workflow-<name>`); created if missing. */
  readonly subscription?: string;
  /** Delivery settings of the subscription (default: ordering per key). */
  readonly config?: SubscriptionConfig;
  readonly consume?: AutoConsumeOptions;
}

/** Timers a little early (clock skew between broker and manager) are handled; earlier ones wait. */
const EARLY_TOLERANCE_MS = 25;
const CONFLICT_BACKOFF = { baseMs: 5, capMs: 200 };

/**
 * The trace a step's events continue, stamped when the step is decided (so a dispatch after a crash
 * or from a later delivery sends the same): the span the step runs in (the consumer's delivery span
 * when an OpenTelemetry SDK is registered), else the input event's own `traceparent`/`tracestate`.
 * An event the step gave a traceparent keeps it.
 */
function traced(event: CloudEvent, input: CloudEvent): CloudEvent {
  if (typeof event["traceparent"] === "string") return event;
  const active = withTraceContext(event);
  if (active !== event || typeof input["traceparent"] !== "string") return active;
  const tracestate = input["tracestate"];
  return event.cloneWith({
    traceparent: input["traceparent"],
    ...(typeof tracestate === "string" && tracestate !== "" ? { tracestate } : {}),
  });
}

export function instanceStream(process: string, key: string): string {
  return `workflow.${process}.${key}`;
}

export class ProcessManager<State, Events extends EventMap> {
  readonly definition: ProcessDefinition<State, Events>;
  readonly source: string;
  readonly #options: ProcessManagerOptions<State, Events>;
  readonly #clock: Clock;
  readonly #initialStatus: string;
  readonly #final: ReadonlySet<string>;
  readonly #steps: Readonly<Record<string, Step<State, unknown> | undefined>>;

  constructor(options: ProcessManagerOptions<State, Events>) {
    const { definition } = options;
    if (definition.name === "" || /[\s/]/.test(definition.name))
      throw new TypeError(`process name must be non-empty, without spaces or "/": ${definition.name}`);
    this.definition = definition;
    this.source = definition.source ?? `urn:herald:workflow:${definition.name}`;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#initialStatus = definition.initialStatus ?? "new";
    this.#final = new Set(definition.final ?? []);
    this.#steps = definition.on as Record<string, Step<State, unknown> | undefined>;
  }

  /** The event types the process reacts to, the timer type included (for a subscription's `types`). */
  types(): string[] {
    return [...Object.keys(this.definition.on), TIMER_EVENT_TYPE];
  }

  /** The manager as an SDK handler (`client.subscribe(id, manager.handle)`); acks once dispatched. */
  readonly handle: Handler = async (event) => {
    const outcome = await this.handleEvent(event);
    this.#options.onHandled?.(event, outcome);
    return undefined;
  };

  /** Creates (or reuses) the subscription and consumes it. Several managers may consume one subscription. */
  async run(client: HeraldClient, options: RunOptions = {}): Promise<Consumer> {
    const id = options.subscription ?? `workflow-${this.definition.name}`;
    await client.ensureSubscription(
      { id, types: this.types(), config: { ordering: "key", ...options.config } },
      { onDifference: "update" },
    );
    return client.subscribe(id, this.handle, options.consume ?? {});
  }

  /** The instance of `key`, or undefined when nothing was stored for it. */
  async instance(key: string): Promise<InstanceSnapshot<State> | undefined> {
    const stream = instanceStream(this.definition.name, key);
    const folded = await this.#load(stream);
    if (folded.version < 0) return undefined;
    return {
      key,
      stream,
      status: folded.status,
      state: folded.state as State,
      steps: folded.seq,
      version: folded.version,
      parked: [...folded.parked.values()],
      undispatched: folded.pending.length,
    };
  }

  /**
   * Handles one event (see the file comment). Throws RetryableError for a timer that is not due yet
   * (a broker that delivered it early redelivers it then) and InstanceConflictError after
   * `maxRetries` lost races; either way nothing is lost: the event is redelivered.
   */
  async handleEvent(received: CloudEvent): Promise<HandleOutcome> {
    const event = this.#parse(received);
    let key: string | undefined;
    const timer = event.type === TIMER_EVENT_TYPE ? timerData(event) : undefined;
    if (event.type === TIMER_EVENT_TYPE) {
      if (timer === undefined || timer.process !== this.definition.name) return "ignored";
      const early = Date.parse(timer.at) - this.#clock.now();
      if (early > EARLY_TOLERANCE_MS) throw new RetryableError("timer not due yet", { delayMs: early });
      key = timer.key;
    } else {
      if (this.#steps[event.type] === undefined) return "ignored";
      key = (this.definition.correlate ?? correlationOf)(event);
      if (key === undefined || key === "") return "ignored";
    }
    const stream = instanceStream(this.definition.name, key);
    const maxRetries = this.#options.maxRetries ?? 10;
    for (let attempt = 1; ; attempt++) {
      const folded = await this.#load(stream);
      if (folded.handled.has(refKey(event))) {
        await this.#dispatch(stream, key, folded);
        return "duplicate";
      }
      if (this.#final.has(folded.status)) {
        await this.#dispatch(stream, key, folded);
        return "ignored";
      }
      if (folded.parked.has(refKey(event))) return "parked"; // redelivered while it waits
      const records: { type: string; data: unknown }[] = [];
      let outcome: HandleOutcome;
      const first = timer ? this.#timerStep(key, folded, event, timer) : this.#eventStep(key, folded, event);
      if (first === "stale") {
        await this.#dispatch(stream, key, folded);
        return "stale-timer";
      }
      if (first === undefined) {
        if (timer) return "stale-timer";
        records.push({ type: PARKED_TYPE, data: { event: event.toJSON() } });
        outcome = "parked";
      } else {
        records.push({ type: STEPPED_TYPE, data: first });
        evolve(folded, STEPPED_TYPE, first);
        outcome = "stepped";
        // Offer what is parked again, until nothing more applies.
        for (let progressed = true; progressed && !this.#final.has(folded.status); ) {
          progressed = false;
          for (const parked of folded.parked.values()) {
            const step = this.#eventStep(key, folded, parked);
            if (step === undefined || step === "stale") continue;
            records.push({ type: STEPPED_TYPE, data: step });
            evolve(folded, STEPPED_TYPE, step);
            progressed = true;
            break;
          }
        }
      }
      const expected = folded.version < 0 ? "no-stream" : folded.version;
      try {
        const appended = await this.#options.store.append(
          stream,
          records.map((r) => this.#record(key, r)),
          expected,
        );
        folded.version = appended.version;
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
        if (attempt > maxRetries) throw new InstanceConflictError(stream, attempt, { cause: error });
        await sleep(backoffDelay(attempt, CONFLICT_BACKOFF));
        continue;
      }
      if (outcome === "stepped") await this.#dispatch(stream, key, folded);
      return outcome;
    }
  }

  /** The event upcast and validated by its catalog definition (EventDataValidationError is non-retryable). */
  #parse(event: CloudEvent): CloudEvent {
    const definition = this.definition.events?.[event.type];
    return definition === undefined ? event : definition.parse(event);
  }

  #record(key: string, record: { type: string; data: unknown }): CloudEvent {
    // A fresh id: the expected version, not the broker's dedupe, decides whether a step is stored.
    return new CloudEvent({
      source: this.source,
      type: record.type,
      subject: key,
      time: new Date(this.#clock.now()),
      datacontenttype: "application/json",
      data: record.data,
    });
  }

  #context(): StepContext {
    return { now: () => new Date(this.#clock.now()) };
  }

  #view(key: string, folded: Folded) {
    return { key, status: folded.status, state: folded.state as State };
  }

  #eventStep(key: string, folded: Folded, event: CloudEvent): StepRecord | undefined | "stale" {
    const step = this.#steps[event.type];
    if (step === undefined) return undefined;
    let transition: Transition<State> | undefined;
    try {
      transition = step(
        this.#view(key, folded),
        event as CloudEvent<unknown> & { data: unknown },
        this.#context(),
      );
    } catch (error) {
      throw new StepError(this.definition.name, `the step for ${event.type} threw`, { cause: error });
    }
    return transition === undefined ? undefined : this.#stepRecord(key, folded, event, transition);
  }

  #timerStep(
    key: string,
    folded: Folded,
    event: CloudEvent,
    timer: TimerData,
  ): StepRecord | undefined | "stale" {
    if (folded.status !== timer.status || folded.entry !== timer.entry) return "stale";
    const step = this.definition.onTimeout?.[timer.name];
    if (step === undefined) return "stale";
    let transition: Transition<State> | undefined;
    try {
      transition = step(this.#view(key, folded), timer, this.#context());
    } catch (error) {
      throw new StepError(this.definition.name, `the timeout ${timer.name} threw`, { cause: error });
    }
    return transition === undefined ? undefined : this.#stepRecord(key, folded, event, transition);
  }

  #stepRecord(key: string, folded: Folded, input: CloudEvent, transition: Transition<State>): StepRecord {
    if (typeof transition !== "object" || transition === null)
      throw new StepError(this.definition.name, `a step returned ${String(transition)}, not a transition`);
    const seq = folded.seq + 1;
    const stream = instanceStream(this.definition.name, key);
    const enters = transition.status !== undefined;
    const status = transition.status ?? folded.status;
    const entry = enters ? seq : folded.entry;
    const correlationid = correlationOf(input);
    const now = this.#clock.now();
    const emit = (transition.emit ?? []).map((init, index) => {
      const event = new CloudEvent({
        time: new Date(now),
        ...init,
        source: init.source ?? this.source,
        id: init.id ?? derivedEventId({ source: stream, id: String(seq) }, index),
        causationid: typeof init["causationid"] === "string" ? init["causationid"] : input.id,
        correlationid: typeof init["correlationid"] === "string" ? init["correlationid"] : correlationid,
      });
      return traced(event, input).toJSON();
    });
    const timers = (transition.timeouts ?? []).map((request) => {
      const at =
        request.at !== undefined
          ? new Date(request.at)
          : request.after !== undefined
            ? new Date(now + request.after)
            : undefined;
      if (at === undefined || Number.isNaN(at.getTime()))
        throw new StepError(this.definition.name, `timeout ${request.name} needs a valid "after" or "at"`);
      const data: TimerData = {
        process: this.definition.name,
        key,
        name: request.name,
        status,
        entry,
        at: at.toISOString(),
      };
      const event = new CloudEvent({
        source: this.source,
        id: `${stream}/${seq}/${request.name}`,
        type: TIMER_EVENT_TYPE,
        subject: key,
        // A stream of its own per instance: a timer waiting (or nacked until due) holds back no one else.
        partitionkey: `${stream}.timers`,
        causationid: input.id,
        correlationid,
        datacontenttype: "application/json",
        data,
      });
      return { event: traced(event, input).toJSON(), at: data.at };
    });
    const cancel: EventRef[] = enters ? folded.active : [];
    return {
      seq,
      input: { source: input.source, id: input.id, type: input.type },
      status,
      entry,
      state: transition.state === undefined ? folded.state : transition.state,
      emit,
      timers,
      cancel,
    };
  }

  async #load(stream: string): Promise<Folded> {
    const events = await this.#options.store.readStream(stream);
    return foldInstance(events, this.#initialStatus, this.definition.initialState());
  }

  /** Publishes, schedules and cancels what the pending steps hold, then records it. Idempotent. */
  async #dispatch(stream: string, key: string, folded: Folded): Promise<void> {
    if (folded.pending.length === 0) return;
    const steps = [...folded.pending];
    const events = steps.flatMap((s) => s.emit.map((json) => eventFromJson(json)));
    if (events.length > 0) await this.#options.publish(events, stream);
    for (const step of steps) {
      for (const timer of step.timers)
        await this.#options.timers.schedule(eventFromJson(timer.event), new Date(timer.at));
      for (const ref of step.cancel) {
        try {
          await this.#options.timers.cancel(ref);
        } catch (error) {
          this.#options.onCancelError?.(error);
        }
      }
    }
    const through = steps.at(-1)!.seq;
    await this.#options.store.append(
      stream,
      [this.#record(key, { type: DISPATCHED_TYPE, data: { through } })],
      "any",
    );
    evolve(folded, DISPATCHED_TYPE, { through });
  }
}
