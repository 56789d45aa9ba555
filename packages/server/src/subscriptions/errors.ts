// Typed errors of the subscription layer; the HTTP routes map them to problem+json answers.

export interface ValidationIssue {
  /** JSON pointer into the request body (e.g. `/filters/0/sql`). */
  readonly field: string;
  readonly reason: string;
}

/**
 * What was invalid: a subscription body, its sink (refused by the sink policy), its engine sink URL
 * (`bridge`: the issue's field names the bad part, e.g. `/sink#path`), or a redrive or reset request.
 */
export type ValidationSubject = "subscription" | "sink" | "bridge" | "redrive" | "reset";

/** A subscription resource (or a redrive request) is invalid: every issue is listed. */
export class SubscriptionValidationError extends Error {
  readonly issues: readonly ValidationIssue[];
  readonly subject: ValidationSubject;
  constructor(issues: readonly ValidationIssue[], subject: ValidationSubject = "subscription") {
    super(
      `invalid ${subject === "redrive" || subject === "reset" ? `${subject} request` : "subscription"}: ${issues
        .slice(0, 3)
        .map((i) => `${i.field || "body"} ${i.reason}`)
        .join("; ")}${issues.length > 3 ? "; …" : ""}`,
    );
    this.name = "SubscriptionValidationError";
    this.issues = issues;
    this.subject = subject;
  }
}

export class SubscriptionNotFoundError extends Error {
  readonly id: string;
  constructor(id: string) {
    super(`subscription ${id} does not exist`);
    this.name = "SubscriptionNotFoundError";
    this.id = id;
  }
}

export class SubscriptionExistsError extends Error {
  readonly id: string;
  constructor(id: string) {
    super(`subscription ${id} already exists`);
    this.name = "SubscriptionExistsError";
    this.id = id;
  }
}

/** A consumer operation that does not fit the subscription (e.g. pulling from a push subscription). */
export class SubscriptionModeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SubscriptionModeError";
  }
}

/** The manager is stopping or not started. */
export class SubscriptionManagerStoppedError extends Error {
  constructor() {
    super("the subscription manager is not running");
    this.name = "SubscriptionManagerStoppedError";
  }
}
