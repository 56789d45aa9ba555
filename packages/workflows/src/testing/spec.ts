// given/when/then for workflows. The real ProcessManager runs over an in-memory log with a test
// clock: `given` events (and clock moves) build the instance, `when` is the events and moves under
// test, `then` checks the instance's status and state and what was emitted during `when` (timers
// fire when the clock moves). Assertions throw node:assert's AssertionError (any test runner).
import assert from "node:assert/strict";
import { CloudEvent, type CloudEventInit } from "@herald/cloudevents";
import { eventLogStore } from "@herald/eventsourcing";
import { createMemoryLog, type EventLog } from "@herald/log";
import { ProcessManager } from "../process-manager.js";
import { TIMER_EVENT_TYPE } from "../timers.js";
import type { EmittedInit, EventMap, HandleOutcome, InstanceSnapshot, ProcessDefinition } from "../types.js";
import { TestClock } from "./clock.js";

/** An event to deliver (`id` and `source` default to generated / "urn:test"), or a clock move. */
export type WorkflowInput = CloudEvent | EmittedInit | { readonly advance: number };

/** What was emitted, compared by type and data (and the attributes listed, when given). */
export interface EmittedEvent {
  readonly type: string;
  readonly data?: unknown;
  readonly [attribute: string]: unknown;
}

/** Runs one process definition in memory with a test clock. */
export class WorkflowHarness<State, Events extends EventMap> {
  readonly clock: TestClock;
  readonly log: EventLog;
  readonly manager: ProcessManager<State, Events>;
  /** Every event published so far (timer events are not: they go to the clock). */
  readonly published: CloudEvent[] = [];

  constructor(definition: ProcessDefinition<State, Events>, options: { start?: Date | number } = {}) {
    this.clock = new TestClock(options.start);
    this.log = createMemoryLog();
    this.manager = new ProcessManager({
      definition,
      store: eventLogStore(this.log),
      publish: async (events) => {
        this.published.push(...events);
      },
      timers: this.clock,
      clock: this.clock,
    });
  }

  /**
   * Delivers an event, or moves the clock: each timer due on the way fires at its own time, in due
   * order (so timers that a firing starts fire too when they fall within the move).
   */
  async deliver(input: WorkflowInput): Promise<HandleOutcome[]> {
    if ("advance" in input && typeof input.advance === "number" && !("type" in input)) {
      if (!(input.advance >= 0)) throw new RangeError(`advance: ${input.advance} must be ≥ 0`);
      const until = this.clock.now() + input.advance;
      const outcomes: HandleOutcome[] = [];
      for (let timer = this.clock.nextDue(until); timer; timer = this.clock.nextDue(until))
        outcomes.push(await this.manager.handleEvent(timer));
      this.clock.advance(until - this.clock.now());
      return outcomes;
    }
    const event =
      input instanceof CloudEvent
        ? input
        : new CloudEvent({ source: "urn:test", ...(input as EmittedInit) } as CloudEventInit);
    return [await this.manager.handleEvent(event)];
  }

  async instance(key: string): Promise<InstanceSnapshot<State> | undefined> {
    return this.manager.instance(key);
  }

  async close(): Promise<void> {
    await this.log.close();
  }
}

export interface WorkflowExpectation<State> {
  /** The instance whose status and state are checked (default: the only one). */
  readonly key?: string;
  readonly status?: string;
  /** Compared in full (deepStrictEqual). */
  readonly state?: State;
  /** Everything emitted during `when`, in order, by type and data (and listed attributes). */
  readonly emitted?: readonly EmittedEvent[];
  /** Timers pending after `when`, by name. */
  readonly timers?: readonly string[];
}

export interface WorkflowThen<State> {
  then(expected: WorkflowExpectation<State>): Promise<void>;
}

export interface WorkflowWhen<State> {
  when(inputs: readonly WorkflowInput[] | WorkflowInput): WorkflowThen<State>;
}

export interface WorkflowSpecification<State> {
  given(inputs: readonly WorkflowInput[]): WorkflowWhen<State>;
}

function project(event: CloudEvent, like: EmittedEvent): EmittedEvent {
  const out: Record<string, unknown> = { type: event.type };
  if ("data" in like || event.data !== undefined) out["data"] = event.data;
  for (const key of Object.keys(like)) if (key !== "type" && key !== "data") out[key] = event[key];
  return out as EmittedEvent;
}

/** `await workflowSpec(definition).given([...]).when([...]).then({ status, emitted })` */
export function workflowSpec<State, Events extends EventMap>(
  definition: ProcessDefinition<State, Events>,
): WorkflowSpecification<State> {
  return {
    given: (given) => ({
      when: (when) => ({
        // biome-ignore lint/suspicious/noThenProperty: see WorkflowThen
        then: async (expected) => {
          const harness = new WorkflowHarness(definition);
          try {
            for (const input of given) await harness.deliver(input);
            const from = harness.published.length;
            for (const input of Array.isArray(when) ? when : [when as WorkflowInput])
              await harness.deliver(input);
            const emitted = harness.published.slice(from);
            if (expected.emitted !== undefined) {
              const likes = expected.emitted;
              assert.deepStrictEqual(
                emitted.map((e, i) => project(e, likes[i] ?? { type: e.type })),
                likes.map((l) => ({ ...l })),
              );
            }
            if (expected.status !== undefined || expected.state !== undefined) {
              let key = expected.key;
              if (key === undefined) {
                const prefix = `workflow.${definition.name}.`;
                const streams = new Set(
                  (await harness.log.listStreams({ prefix }))
                    .map((s) => s.stream)
                    .filter((s) => !s.endsWith(".timers") && !s.endsWith(".outcomes")),
                );
                assert.equal(
                  streams.size,
                  1,
                  `expected one instance, found ${[...streams].join(", ") || "none"}`,
                );
                key = [...streams][0]!.slice(prefix.length);
              }
              const instance = await harness.instance(key);
              assert.ok(instance, `no instance ${key}`);
              if (expected.status !== undefined) assert.equal(instance.status, expected.status);
              if (expected.state !== undefined) assert.deepStrictEqual(instance.state, expected.state);
            }
            if (expected.timers !== undefined) {
              const names = harness.clock
                .pending()
                .filter((p) => p.timer.type === TIMER_EVENT_TYPE)
                .map((p) => (p.timer.data as { name: string }).name);
              assert.deepStrictEqual(names, [...expected.timers]);
            }
          } finally {
            await harness.close();
          }
        },
      }),
    }),
  };
}
