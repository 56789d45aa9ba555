// given/when/then specifications. They throw node:assert's AssertionError, so they work under any
// test runner (node:test, vitest, jest, mocha).
import assert from "node:assert/strict";
import { type Decider, decisionEvents, fold } from "../decider.js";

type Constructor = abstract new (...args: never[]) => Error;

export interface DeciderThen<Event> {
  /** decide() returned exactly these events. */
  then(expected: readonly Event[] | Event): void;
  /** decide() decided nothing. */
  thenNothingHappened(): void;
  /** decide() threw an error of this class (and, when given, `check` holds for it). */
  thenThrows<E extends Error>(
    errorClass: abstract new (...args: never[]) => E,
    check?: (error: E) => void,
  ): void;
}

export interface DeciderWhen<Command, Event> {
  when(command: Command): DeciderThen<Event>;
}

export interface DeciderSpecification<Command, Event> {
  given(events: readonly Event[]): DeciderWhen<Command, Event>;
}

/** `deciderSpec(decider).given([...]).when(command).then([...])` */
export function deciderSpec<Command, State, Event>(
  decider: Decider<Command, State, Event>,
): DeciderSpecification<Command, Event> {
  return {
    given: (given) => ({
      when: (command) => {
        const run = (): readonly Event[] => decisionEvents(decider.decide(command, fold(decider, given)));
        return {
          // biome-ignore lint/suspicious/noThenProperty: `then` is the given/when/then vocabulary, never awaited as a thenable
          then(expected) {
            assert.deepStrictEqual(run(), decisionEvents(expected));
          },
          thenNothingHappened() {
            assert.deepStrictEqual(run(), []);
          },
          thenThrows(errorClass, check) {
            let thrown: unknown;
            try {
              const events = run();
              assert.fail(`expected ${errorClass.name}, decide() returned ${JSON.stringify(events)}`);
            } catch (error) {
              if (error instanceof assert.AssertionError) throw error;
              thrown = error;
            }
            assert.ok(
              thrown instanceof (errorClass as Constructor),
              `expected ${errorClass.name}, got ${String(thrown)}`,
            );
            check?.(thrown as never);
          },
        };
      },
    }),
  };
}

export interface ProjectionThen<ReadModel> {
  /** The read model after given + when equals `expected`. */
  then(expected: ReadModel): Promise<void>;
  /** The events of `when` changed nothing of the read model built from `given`. */
  thenNothingHappened(): Promise<void>;
  /** Applying `when` threw an error of this class. */
  thenThrows(errorClass: abstract new (...args: never[]) => Error): Promise<void>;
}

export interface ProjectionHarness<Event, ReadModel> {
  /** A fresh, empty read model (a new database, table, …). */
  setup(): Promise<void> | void;
  apply(events: readonly Event[]): Promise<void> | void;
  /** What the assertions compare (query the read model). */
  read(): Promise<ReadModel> | ReadModel;
  teardown?(): Promise<void> | void;
}

/**
 * `projectionSpec(harness).given([...]).when([...]).then(readModel)`: runs the real projection
 * (its SQL included) through a harness; see sqliteProjectionHarness.
 */
export function projectionSpec<Event, ReadModel>(harness: ProjectionHarness<Event, ReadModel>) {
  return {
    given: (given: readonly Event[]) => ({
      when: (events: readonly Event[]): ProjectionThen<ReadModel> => {
        const run = async <T>(body: () => Promise<T>): Promise<T> => {
          await harness.setup();
          try {
            await harness.apply(given);
            return await body();
          } finally {
            await harness.teardown?.();
          }
        };
        return {
          // biome-ignore lint/suspicious/noThenProperty: `then` is the given/when/then vocabulary, never awaited as a thenable
          then: (expected) =>
            run(async () => {
              await harness.apply(events);
              assert.deepStrictEqual(await harness.read(), expected);
            }),
          thenNothingHappened: () =>
            run(async () => {
              const before = await harness.read();
              await harness.apply(events);
              assert.deepStrictEqual(await harness.read(), before);
            }),
          thenThrows: (errorClass) =>
            run(async () => {
              await assert.rejects(async () => harness.apply(events), errorClass as Constructor);
            }),
        };
      },
    }),
  };
}
