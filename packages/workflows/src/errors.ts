// Typed errors of @herald/workflows, one base class with a stable code.

export class WorkflowError extends Error {
  override name = "WorkflowError";
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Every attempt to store a step met a concurrent writer of the same instance (the event is redelivered). */
export class InstanceConflictError extends WorkflowError {
  override name = "InstanceConflictError";
  readonly stream: string;
  constructor(stream: string, attempts: number, options?: ErrorOptions) {
    super(
      "instance-conflict",
      `instance stream "${stream}": still conflicting after ${attempts} attempts`,
      options,
    );
    this.stream = stream;
  }
}

/** A step or timeout handler returned something that is not a transition, or threw. */
export class StepError extends WorkflowError {
  override name = "StepError";
  constructor(process: string, what: string, options?: ErrorOptions) {
    super("step-failed", `process "${process}": ${what}`, options);
  }
}
