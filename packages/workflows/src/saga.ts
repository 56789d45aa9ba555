// Sagas: an ordered list of steps, each a command with its success and failure replies and, when it
// can be undone, a compensating command. Compiled into a ProcessDefinition, so a saga instance is a
// process instance (its stream, inbox, parked replies, timers and crash recovery are the manager's).
//
// Statuses: running:<step> → … → completed; on a failure reply or a step timeout the completed
// steps are compensated in reverse order (compensating:<step>; the step that timed out is compensated
// too, since its late success may still arrive), each compensation retried on a failure reply or when
// its retry timer fires, up to maxAttempts; then compensated, or failed when a compensation gave up.
// Every outcome is an event the saga emits (SAGA_EVENTS), stored in its stream and published.
import type { CloudEvent } from "@herald/cloudevents";
import { correlationOf } from "@herald/sdk";
import type { EmittedInit, ProcessDefinition, Step, TimeoutStep, Transition } from "./types.js";

export interface SagaCompensation<Data> {
  readonly command: (data: Data) => EmittedInit;
  /** Reply type: the step is undone. */
  readonly succeeded: string;
  /** Reply type: this attempt failed (retried until maxAttempts). */
  readonly failed?: string;
}

export interface SagaStep<Data> {
  readonly name: string;
  readonly command: (data: Data) => EmittedInit;
  /** Reply type: the step is done. */
  readonly succeeded: string;
  /** Reply type: the step failed (the steps before it are compensated). */
  readonly failed?: string;
  /** Folds the success reply into the saga's data. */
  readonly onSucceeded?: (data: Data, reply: CloudEvent) => Data;
  /** No reply within this time: compensate (default: the saga's `stepTimeoutMs`; none when absent). */
  readonly timeoutMs?: number;
  readonly compensate?: SagaCompensation<Data>;
}

export interface SagaDefinition<Data> {
  readonly name: string;
  readonly source?: string;
  /** The event type that starts an instance. */
  readonly start: string;
  /** The instance of an event (default: its correlationid, or its id for the starting event). */
  readonly correlate?: (event: CloudEvent) => string | undefined;
  /** The saga's data from the starting event (JSON-serializable: it is stored with each step). */
  readonly init: (event: CloudEvent) => Data;
  readonly steps: readonly SagaStep<Data>[];
  readonly stepTimeoutMs?: number;
  readonly compensation?: {
    /** Attempts per compensating command (default 5). */
    readonly maxAttempts?: number;
    /** Resend when no reply came within this time (default 5 000 ms). */
    readonly retryAfterMs?: number;
  };
}

export interface SagaState<Data> {
  readonly data: Data;
  /** Index of the running step, or of the step being compensated. */
  readonly step: number;
  /** Attempt of the running compensation (0 while running forward). */
  readonly attempt: number;
  /** Why compensation started ("<step> failed", "<step> timed out"). */
  readonly reason?: string;
}

/** Types of the events a saga emits about itself; data `{ saga, key, step?, attempt?, reason? }`. */
export const SAGA_EVENTS = Object.freeze({
  completed: "herald.saga.completed",
  stepCompensated: "herald.saga.step-compensated",
  compensationAttemptFailed: "herald.saga.compensation-attempt-failed",
  compensated: "herald.saga.compensated",
  failed: "herald.saga.failed",
});

export const SAGA_STATUS = Object.freeze({
  new: "new",
  completed: "completed",
  compensated: "compensated",
  failed: "failed",
  running: (step: string) => `running:${step}`,
  compensating: (step: string) => `compensating:${step}`,
});

type Role =
  | { kind: "start" }
  | { kind: "succeeded" | "failed"; index: number }
  | { kind: "compensated" | "compensation-failed"; index: number };

/** The saga as a process definition (give it to ProcessManager or workflowSpec). */
export function defineSaga<Data>(
  saga: SagaDefinition<Data>,
): ProcessDefinition<SagaState<Data>, Record<string, unknown>> {
  const steps = saga.steps;
  if (steps.length === 0) throw new RangeError(`saga ${saga.name} needs at least one step`);
  const names = new Set(steps.map((s) => s.name));
  if (names.size !== steps.length) throw new RangeError(`saga ${saga.name}: step names must be unique`);
  const maxAttempts = saga.compensation?.maxAttempts ?? 5;
  const retryAfterMs = saga.compensation?.retryAfterMs ?? 5_000;
  const partitionkey = (key: string) => `workflow.${saga.name}.${key}.outcomes`;
  const outcome = (type: string, key: string, extra: Record<string, unknown>): EmittedInit => ({
    type,
    subject: key,
    partitionkey: partitionkey(key),
    datacontenttype: "application/json",
    data: { saga: saga.name, key, ...extra },
  });

  const runStep = (index: number, data: Data): Transition<SagaState<Data>> => {
    const step = steps[index]!;
    const timeoutMs = step.timeoutMs ?? saga.stepTimeoutMs;
    return {
      status: SAGA_STATUS.running(step.name),
      state: { data, step: index, attempt: 0 },
      emit: [step.command(data)],
      ...(timeoutMs === undefined ? {} : { timeouts: [{ name: "step", after: timeoutMs }] }),
    };
  };
  const compensateFrom = (
    key: string,
    from: number,
    state: SagaState<Data>,
    reason: string,
    emitted: EmittedInit[] = [],
  ): Transition<SagaState<Data>> => {
    for (let index = from; index >= 0; index--) {
      const compensation = steps[index]!.compensate;
      if (compensation === undefined) continue;
      return {
        status: SAGA_STATUS.compensating(steps[index]!.name),
        state: { data: state.data, step: index, attempt: 1, reason },
        emit: [...emitted, compensation.command(state.data)],
        timeouts: [{ name: "compensation-retry", after: retryAfterMs }],
      };
    }
    return {
      status: SAGA_STATUS.compensated,
      state: { ...state, reason },
      emit: [...emitted, outcome(SAGA_EVENTS.compensated, key, { reason })],
    };
  };
  const retryCompensation = (
    key: string,
    state: SagaState<Data>,
    why: string,
  ): Transition<SagaState<Data>> => {
    const step = steps[state.step]!;
    const failedAttempt = outcome(SAGA_EVENTS.compensationAttemptFailed, key, {
      step: step.name,
      attempt: state.attempt,
      reason: why,
    });
    if (state.attempt >= maxAttempts) {
      return {
        status: SAGA_STATUS.failed,
        emit: [
          failedAttempt,
          outcome(SAGA_EVENTS.failed, key, { step: step.name, attempt: state.attempt, reason: state.reason }),
        ],
      };
    }
    return {
      status: SAGA_STATUS.compensating(step.name),
      state: { ...state, attempt: state.attempt + 1 },
      emit: [failedAttempt, step.compensate!.command(state.data)],
      timeouts: [{ name: "compensation-retry", after: retryAfterMs }],
    };
  };

  const roles = new Map<string, Role[]>();
  const add = (type: string | undefined, role: Role) => {
    if (type === undefined) return;
    roles.set(type, [...(roles.get(type) ?? []), role]);
  };
  add(saga.start, { kind: "start" });
  steps.forEach((step, index) => {
    add(step.succeeded, { kind: "succeeded", index });
    add(step.failed, { kind: "failed", index });
    add(step.compensate?.succeeded, { kind: "compensated", index });
    add(step.compensate?.failed, { kind: "compensation-failed", index });
  });

  const running = (status: string) => steps.findIndex((s) => status === SAGA_STATUS.running(s.name));
  const compensating = (status: string) =>
    steps.findIndex((s) => status === SAGA_STATUS.compensating(s.name));

  const on: Record<string, Step<SagaState<Data>, unknown>> = {};
  for (const [type, list] of roles) {
    on[type] = (instance, event) => {
      const { status, state, key } = instance;
      let later = false; // a reply for a step that has not started: park it
      for (const role of list) {
        if (role.kind === "start") {
          if (status === SAGA_STATUS.new) return runStep(0, saga.init(event));
          continue;
        }
        const at =
          role.kind === "succeeded" || role.kind === "failed" ? running(status) : compensating(status);
        if (role.index === at) {
          if (role.kind === "succeeded") {
            const step = steps[role.index]!;
            const data = step.onSucceeded ? step.onSucceeded(state.data, event) : state.data;
            if (role.index + 1 < steps.length) return runStep(role.index + 1, data);
            return {
              status: SAGA_STATUS.completed,
              state: { ...state, data },
              emit: [outcome(SAGA_EVENTS.completed, key, {})],
            };
          }
          if (role.kind === "failed")
            return compensateFrom(key, role.index - 1, state, `${steps[role.index]!.name} failed`);
          if (role.kind === "compensated") {
            const done = outcome(SAGA_EVENTS.stepCompensated, key, {
              step: steps[role.index]!.name,
              attempt: state.attempt,
            });
            return compensateFrom(key, role.index - 1, state, state.reason ?? "", [done]);
          }
          return retryCompensation(key, state, `${event.type}`);
        }
        if (status === SAGA_STATUS.new) later = true;
        else if ((role.kind === "succeeded" || role.kind === "failed") && at >= 0 && role.index > at)
          later = true;
      }
      // Not for now: park a reply that may be for a later step, consume the rest (late, stale, duplicate).
      return later ? undefined : {};
    };
  }
  const onTimeout: Record<string, TimeoutStep<SagaState<Data>>> = {
    step: (instance) => {
      const index = running(instance.status);
      if (index < 0) return {};
      return compensateFrom(instance.key, index, instance.state, `${steps[index]!.name} timed out`);
    },
    "compensation-retry": (instance) => {
      if (compensating(instance.status) < 0) return {};
      return retryCompensation(instance.key, instance.state, "no reply");
    },
  };
  return {
    name: saga.name,
    ...(saga.source === undefined ? {} : { source: saga.source }),
    correlate: saga.correlate ?? correlationOf,
    initialState: () => ({ data: undefined as Data, step: -1, attempt: 0 }),
    initialStatus: SAGA_STATUS.new,
    final: [SAGA_STATUS.completed, SAGA_STATUS.compensated, SAGA_STATUS.failed],
    on,
    onTimeout,
  };
}
