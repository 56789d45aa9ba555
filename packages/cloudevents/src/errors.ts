/** One reason an event failed validation, named by attribute. */
export interface ValidationIssue {
  /** The context attribute or extension name (`data` / `data_base64` for the payload). */
  readonly attribute: string;
  /** Why the value is not acceptable, in plain words. */
  readonly reason: string;
  /** Position of the event within a batch, when the issue comes from a batch decode. */
  readonly index?: number;
}

/** Base class of every error this package throws on bad input, so callers can catch them all at once. */
export class CloudEventError extends Error {
  override name = "CloudEventError";
}

/** The input is a CloudEvent in shape but breaks the spec's rules; lists every failing attribute. */
export class CloudEventValidationError extends CloudEventError {
  override name = "CloudEventValidationError";
  readonly issues: ReadonlyArray<ValidationIssue>;

  constructor(issues: ReadonlyArray<ValidationIssue>, message?: string) {
    super(message ?? `invalid CloudEvent: ${describeIssues(issues)}`);
    this.issues = issues;
  }
}

/**
 * Why a message could not be decoded at all (before validation):
 * - `unsupported-media-type`: the content type is not one this binding or format can carry (HTTP 415);
 * - `malformed`: broken JSON, missing body, bad header encoding, wrong JSON shape... (HTTP 400).
 */
export type CloudEventDecodeReason = "malformed" | "unsupported-media-type";

/** The message is not decodable into a CloudEvent (as opposed to an invalid event). */
export class CloudEventDecodeError extends CloudEventError {
  override name = "CloudEventDecodeError";
  readonly reason: CloudEventDecodeReason;

  constructor(reason: CloudEventDecodeReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

function describeIssues(issues: ReadonlyArray<ValidationIssue>): string {
  const parts: string[] = [];
  for (const issue of issues) {
    const where = issue.index === undefined ? issue.attribute : `[${issue.index}].${issue.attribute}`;
    parts.push(`${where}: ${issue.reason}`);
  }
  return parts.join("; ");
}
