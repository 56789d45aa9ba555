// Rules every backend applies the same way: argument checks and the expected-version test.
import type { CloudEvent } from "@herald/cloudevents";
import { LogInputError } from "./errors.js";
import type {
  AppendOptions,
  ExpectedVersion,
  ListStreamsOptions,
  ReadOptions,
  ReadStreamOptions,
  RetentionPolicy,
} from "./event-log.js";

/** What a backend knows about a stream before an append. Version -1: no event yet. */
export interface StreamState {
  readonly version: number;
  readonly deleted: boolean;
}

export interface CheckedAppend {
  readonly stream: string | undefined;
  readonly expected: ExpectedVersion;
}

export const DEFAULT_READ_LIMIT = 100;

export function checkAppendArguments(events: readonly CloudEvent[], options?: AppendOptions): CheckedAppend {
  if (!Array.isArray(events)) throw new LogInputError("append takes an array of events");
  for (const event of events) {
    if (typeof event !== "object" || event === null) throw new LogInputError("every event must be an object");
    if (typeof event.source !== "string" || event.source === "")
      throw new LogInputError("every event needs a non-empty source");
    if (typeof event.id !== "string" || event.id === "")
      throw new LogInputError("every event needs a non-empty id");
    if (typeof event.type !== "string" || event.type === "")
      throw new LogInputError("every event needs a non-empty type");
  }
  const stream = options?.stream;
  if (stream !== undefined) checkStreamName(stream);
  const expected = options?.expectedVersion ?? "any";
  checkExpectedVersion(expected);
  if (expected !== "any" && stream === undefined)
    throw new LogInputError(`expectedVersion ${String(expected)} needs an explicit stream`);
  return { stream, expected };
}

export function checkStreamName(stream: string): void {
  if (typeof stream !== "string" || stream === "")
    throw new LogInputError("a stream name is a non-empty string");
}

export function checkExpectedVersion(expected: ExpectedVersion): void {
  if (expected === "any" || expected === "no-stream" || expected === "exists") return;
  if (typeof expected === "number" && Number.isSafeInteger(expected) && expected >= -1) return;
  throw new LogInputError(
    `expectedVersion must be "any", "no-stream", "exists" or an integer >= -1, got ${String(expected)}`,
  );
}

/** Does the stream's state satisfy the expectation? (A deleted stream is reported separately.) */
export function expectationMet(expected: ExpectedVersion, state: StreamState | undefined): boolean {
  if (expected === "any") return true;
  if (expected === "no-stream") return state === undefined;
  if (expected === "exists") return state !== undefined && state.version >= 0;
  return (state?.version ?? -1) === expected;
}

export function actualVersion(state: StreamState | undefined): number {
  return state?.version ?? -1;
}

export interface CheckedRead {
  readonly after: number;
  readonly limit: number;
  readonly scanLimit: number;
}

export function checkReadOptions(options?: ReadOptions): CheckedRead {
  const after = options?.after ?? 0;
  const limit = options?.limit ?? DEFAULT_READ_LIMIT;
  const scanLimit = options?.scanLimit ?? Number.POSITIVE_INFINITY;
  checkNonNegativeInteger("after", after);
  checkPositiveInteger("limit", limit);
  if (scanLimit !== Number.POSITIVE_INFINITY) checkPositiveInteger("scanLimit", scanLimit);
  return { after, limit, scanLimit };
}

export interface CheckedReadStream {
  readonly from: number | undefined;
  readonly limit: number;
  readonly backwards: boolean;
}

export function checkReadStreamOptions(options?: ReadStreamOptions): CheckedReadStream {
  const limit = options?.limit ?? DEFAULT_READ_LIMIT;
  checkPositiveInteger("limit", limit);
  const from = options?.from;
  if (from !== undefined) checkNonNegativeInteger("from", from);
  const direction = options?.direction ?? "forwards";
  if (direction !== "forwards" && direction !== "backwards")
    throw new LogInputError(`direction must be "forwards" or "backwards"`);
  return { from, limit, backwards: direction === "backwards" };
}

export function checkListStreamsOptions(options?: ListStreamsOptions): { limit: number } {
  const limit = options?.limit ?? DEFAULT_READ_LIMIT;
  checkPositiveInteger("limit", limit);
  return { limit };
}

export function checkRetentionPolicies(policies: readonly RetentionPolicy[]): void {
  if (!Array.isArray(policies)) throw new LogInputError("retention policies are an array");
  for (const policy of policies) {
    if (policy.maxAgeMs === undefined && policy.maxCount === undefined)
      throw new LogInputError("a retention policy needs maxAgeMs and/or maxCount");
    if (policy.maxAgeMs !== undefined) checkNonNegativeInteger("maxAgeMs", policy.maxAgeMs);
    if (policy.maxCount !== undefined) checkNonNegativeInteger("maxCount", policy.maxCount);
  }
}

export function checkPositions(positions: readonly number[]): void {
  if (!Array.isArray(positions)) throw new LogInputError("positions are an array");
  for (const position of positions) checkNonNegativeInteger("position", position);
}

export function checkNonNegativeInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new LogInputError(`${name} must be a non-negative integer, got ${String(value)}`);
}

export function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new LogInputError(`${name} must be a positive integer, got ${String(value)}`);
}
