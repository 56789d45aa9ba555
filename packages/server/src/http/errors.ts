// The one place where typed errors of the log, the codec and the subscription layer become problems.
// Handlers throw HttpProblem for refusals of their own; everything else passes through problemOf, and
// answerError is the single entry every catch-all uses.
import { CesqlError, CloudEventDecodeError, CloudEventValidationError } from "@herald/cloudevents";
import { LogClosedError, LogInputError, StreamDeletedError, VersionConflictError } from "@herald/log";
import { RETRY_AFTER_HEADER } from "@herald/protocol";
import {
  SubscriptionExistsError,
  SubscriptionManagerStoppedError,
  SubscriptionModeError,
  SubscriptionNotFoundError,
  SubscriptionValidationError,
} from "../subscriptions/errors.js";
import { HttpProblem } from "./problem.js";
import { storageProblemOf } from "./storage-errors.js";

const RETRY_SOON = { [RETRY_AFTER_HEADER]: "1" };

/** The problem for any error; unknown errors become `internal-error` (the caller logs those). */
export function problemOf(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  const cause = { cause: error };
  if (error instanceof CloudEventValidationError) {
    const errors = error.issues.map((issue) => ({
      field: issue.index === undefined ? issue.attribute : `[${issue.index}].${issue.attribute}`,
      reason: issue.reason,
    }));
    return new HttpProblem("event-invalid", `the event is not a valid CloudEvent: ${error.message}`, {
      errors,
      ...cause,
    });
  }
  if (error instanceof CloudEventDecodeError) {
    if (error.reason === "unsupported-media-type") {
      return new HttpProblem("unsupported-media-type", error.message, cause);
    }
    return new HttpProblem("event-malformed", error.message, {
      errors: [{ field: "body", reason: error.reason }],
      ...cause,
    });
  }
  if (error instanceof CesqlError) {
    return new HttpProblem("filter-invalid", `filter is not a valid CESQL expression: ${error.message}`, {
      errors: [{ field: "filter", reason: error.message }],
      // Where parsing failed, so a page can point at it.
      ...(error.position === undefined ? {} : { extensions: { position: error.position } }),
      ...cause,
    });
  }
  if (error instanceof VersionConflictError) {
    return new HttpProblem(
      "stream-version-conflict",
      `stream ${JSON.stringify(error.stream)} is at version ${error.actual}, expected ${error.expected}`,
      {
        extensions: { stream: error.stream, expectedVersion: error.expected, actualVersion: error.actual },
        ...cause,
      },
    );
  }
  if (error instanceof StreamDeletedError) {
    return new HttpProblem("stream-deleted", `stream ${JSON.stringify(error.stream)} was deleted`, {
      extensions: { stream: error.stream },
      ...cause,
    });
  }
  // The log's own shape checks; the codec validated first, so this is a last line of defence.
  if (error instanceof LogInputError) return new HttpProblem("event-invalid", error.message, cause);
  if (error instanceof LogClosedError) {
    return new HttpProblem("shutting-down", "the log is closed: the server is shutting down", {
      headers: RETRY_SOON,
      ...cause,
    });
  }
  if (error instanceof SubscriptionValidationError) {
    const code =
      error.subject === "redrive"
        ? "redrive-invalid"
        : error.subject === "reset"
          ? "reset-invalid"
          : error.subject === "sink"
            ? "sink-refused"
            : error.subject === "bridge"
              ? "bridge-sink-invalid"
              : "subscription-invalid";
    return new HttpProblem(code, error.message, { errors: error.issues, ...cause });
  }
  if (error instanceof SubscriptionNotFoundError) {
    return new HttpProblem("subscription-not-found", error.message, {
      extensions: { id: error.id },
      ...cause,
    });
  }
  if (error instanceof SubscriptionExistsError) {
    return new HttpProblem("duplicate-subscription", error.message, {
      extensions: { id: error.id },
      ...cause,
    });
  }
  if (error instanceof SubscriptionModeError) {
    return new HttpProblem("subscription-mode-conflict", error.message, cause);
  }
  if (error instanceof SubscriptionManagerStoppedError) {
    return new HttpProblem("shutting-down", error.message, { headers: RETRY_SOON, ...cause });
  }
  const storage = storageProblemOf(error);
  if (storage !== undefined) return storage;
  return new HttpProblem("internal-error", "the server failed to handle the request", cause);
}

/**
 * The one answer to any thrown error, used by the router, upgrades and the server's own catch-alls:
 * the error's problem, and `onUnexpected` told about server-side failures (logged): errors no catalog
 * code describes (500) and storage failures (507 full disk, 503 storage unavailable), which an operator
 * must see even though the client gets a precise answer.
 */
export function answerError(error: unknown, onUnexpected?: (error: unknown) => void): HttpProblem {
  const problem = problemOf(error);
  const serverSide =
    problem.code === "internal-error" ||
    problem.code === "storage-full" ||
    problem.code === "storage-unavailable";
  if (serverSide && !(error instanceof HttpProblem)) onUnexpected?.(error);
  return problem;
}
