// Idempotence by source+id, the way every backend decides it: a duplicate is answered with the first
// copy's place, and an append made only of duplicates is a retry, answered without a version check.
import type { CloudEvent } from "@herald/cloudevents";
import { actualVersion, expectationMet, type StreamState } from "./append-rules.js";
import { VersionConflictError } from "./errors.js";
import type { AppendResult, ExpectedVersion } from "./event-log.js";

/** One string per source+id (NUL cannot occur in either), for in-memory dedupe maps. */
export function eventKey(source: string, id: string): string {
  return `${source}\u0000${id}`;
}

/** The answer for an event already in the log (or earlier in the same append) at `first`. */
export function duplicateResult(
  event: CloudEvent,
  position: number,
  stream: string,
  version: number,
): AppendResult {
  return { id: event.id, source: event.source, position, stream, version, duplicate: true };
}

/**
 * The expected-version check of an append, once its events are planned: `fresh` is how many of
 * them are new; `stateOf` reads the stream's state as the append sees it (only when checked). None new is an idempotent retry (a client resending an acknowledged append gets its
 * answer, not a conflict); without a named stream there is nothing to check.
 */
export function checkAppendExpectation(
  named: string | undefined,
  expected: ExpectedVersion,
  stateOf: (stream: string) => StreamState | undefined,
  fresh: number,
): void {
  if (fresh === 0 || named === undefined) return;
  checkExpectation(named, expected, stateOf(named));
}

/** Throws VersionConflictError (with the actual version) unless the stream's state meets `expected`. */
export function checkExpectation(
  stream: string,
  expected: ExpectedVersion,
  state: StreamState | undefined,
): void {
  if (!expectationMet(expected, state))
    throw new VersionConflictError(stream, expected, actualVersion(state));
}
