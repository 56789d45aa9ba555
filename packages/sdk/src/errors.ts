// Typed errors of the SDK. Handlers throw NonRetryableError / RetryableError to say what a
// failure means; everything else the SDK throws is one of the classes below, never a bare string.
import type { BreakingChange, ProblemCode, ProblemDetails } from "@herald/protocol";

/** A handler failure that will not go away by trying again (bad input, business rule). Dead-lettered at once. */
export class NonRetryableError extends Error {
  override readonly name: string = "NonRetryableError";
  /** HTTP status a Receiver answers with (a 4xx other than 408/429). */
  readonly status: number;
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = options?.status ?? 422;
  }
}

/** A transient handler failure; `delayMs` asks for the next attempt no sooner than that. */
export class RetryableError extends Error {
  override readonly name: string = "RetryableError";
  readonly delayMs: number | undefined;
  constructor(message: string, options?: { cause?: unknown; delayMs?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.delayMs = options?.delayMs;
  }
}

/** The handler ran longer than the timeout middleware allows (retryable). */
export class HandlerTimeoutError extends RetryableError {
  override readonly name = "HandlerTimeoutError";
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`handler did not finish within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** Another delivery of the same event (same source+id) is being handled right now (retryable). */
export class DuplicateInProgressError extends RetryableError {
  override readonly name = "DuplicateInProgressError";
  constructor(key: string) {
    super(`event ${key} is already being handled`, { delayMs: 1000 });
  }
}

/** Something was thrown that is not an Error (a string, undefined…): wrapped so callers always get an Error. */
export class HandlerPanicError extends Error {
  override readonly name = "HandlerPanicError";
  readonly thrown: unknown;
  constructor(thrown: unknown) {
    super(`handler threw a non-Error value: ${String(thrown)}`);
    this.thrown = thrown;
  }
}

/** One failing place in an event's data, as JSON Pointer + message. */
export interface DataIssue {
  readonly path: string;
  readonly message: string;
}

/** An event's data does not match its typed definition (on send or on receive). Not retryable. */
export class EventDataValidationError extends NonRetryableError {
  override readonly name = "EventDataValidationError";
  readonly type: string;
  readonly version: number;
  readonly issues: readonly DataIssue[];
  constructor(type: string, version: number, issues: readonly DataIssue[], what = "data") {
    const list = issues.map((i) => `${i.path || "/"} ${i.message}`).join("; ");
    super(`invalid ${what} for ${type} v${version}: ${list}`, { status: 422 });
    this.type = type;
    this.version = version;
    this.issues = issues;
  }
}

/** A push request whose Standard Webhooks signature is missing, stale or wrong. */
export class SignatureVerificationError extends Error {
  override readonly name = "SignatureVerificationError";
  readonly reason: "missing-headers" | "stale-timestamp" | "bad-signature";
  constructor(reason: SignatureVerificationError["reason"], message: string) {
    super(message);
    this.reason = reason;
  }
}

/** `client.request()` got no reply in time. */
export class RequestTimeoutError extends Error {
  override readonly name = "RequestTimeoutError";
  readonly requestId: string;
  readonly timeoutMs: number;
  constructor(requestId: string, timeoutMs: number) {
    super(`no reply to request ${requestId} within ${timeoutMs} ms`);
    this.requestId = requestId;
    this.timeoutMs = timeoutMs;
  }
}

/** A network failure or timeout talking to the broker (nothing was answered). */
export class TransportError extends Error {
  override readonly name = "TransportError";
  /** `ECONNREFUSED`, `ECONNRESET`, `TIMEOUT`, `ABORTED` (the caller's signal), … */
  readonly code: string;
  /** The URL the request went to, when known. */
  readonly url: string | undefined;
  constructor(code: string, message: string, options?: { cause?: unknown; url?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.url = options?.url;
  }
}

/**
 * An error answer that is not one of Herald's problem bodies (no catalog `code`): a proxy's 502, a
 * body that is not JSON, a Receiver's answer. The members that could be read are kept.
 */
export interface ForeignProblem {
  readonly status: number;
  readonly title: string;
  readonly detail?: string;
  readonly code?: undefined;
  readonly [member: string]: unknown;
}

/** What an error answer said: Herald's problem (branch on `code`) or what could be read of another. */
export type ApiProblem = ProblemDetails | ForeignProblem;

/**
 * The broker answered with an error status. `code` is the problem catalog's (@herald/protocol
 * PROBLEMS); undefined only when the answer did not come from Herald (see ForeignProblem).
 */
export class HeraldApiError extends Error {
  override readonly name = "HeraldApiError";
  readonly status: number;
  readonly code: ProblemCode | undefined;
  readonly problem: ApiProblem;
  constructor(status: number, problem: ApiProblem) {
    super(`herald answered ${status}: ${problem.title ?? ""}${problem.detail ? ` — ${problem.detail}` : ""}`);
    this.status = status;
    this.problem = problem;
    this.code = problem.code;
  }
}

/** A 2xx answer whose body is not what the HTTP API promises (a proxy in the way, a version mismatch). */
export class UnexpectedResponseError extends Error {
  override readonly name = "UnexpectedResponseError";
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The call was made after `close()` / `stop()`. */
export class ClosedError extends Error {
  override readonly name = "ClosedError";
}

/** Is this failure worth another attempt? NonRetryableError (and subclasses) say no; everything else yes. */
export function isRetryable(error: unknown): boolean {
  return !(error instanceof NonRetryableError);
}

/** Always an Error: wraps whatever was thrown. */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new HandlerPanicError(thrown);
}

/**
 * `ensureSubscription` found a subscription with the id that differs from the one asked for
 * (`differences` names each member); pass `onDifference: "update"` or `"keep"` to decide.
 */
export class SubscriptionMismatchError extends Error {
  override readonly name = "SubscriptionMismatchError";
  readonly id: string;
  readonly differences: readonly string[];
  constructor(id: string, differences: readonly string[]) {
    super(
      `subscription ${id} exists and differs in ${differences.join(", ")}; pass onDifference "update" to replace it or "keep" to use it as it is`,
    );
    this.id = id;
    this.differences = differences;
  }
}

/**
 * `registerEventSchemas`: the registry refused a definition's schema (409 schema-incompatible, or 400
 * schema-invalid). `breakingChanges` lists each change the registry named; `cause` is the HeraldApiError.
 */
export class SchemaRegistrationError extends Error {
  override readonly name = "SchemaRegistrationError";
  readonly type: string;
  readonly breakingChanges: readonly BreakingChange[];
  constructor(type: string, breakingChanges: readonly BreakingChange[], cause: HeraldApiError) {
    super(
      `the schema registry refused the schema of ${type}: ${
        breakingChanges.length > 0
          ? breakingChanges.map((b) => `${b.path} ${b.rule} (v${b.version}): ${b.reason}`).join("; ")
          : cause.message
      }`,
      { cause },
    );
    this.type = type;
    this.breakingChanges = breakingChanges;
  }
}
