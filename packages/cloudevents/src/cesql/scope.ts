import { CesqlError, type CesqlErrorKind } from "./errors.js";

/**
 * Collects the errors of one evaluation. Operators compare `count` before and after evaluating
 * their operands to learn whether one of them failed. The list is only allocated once an error
 * arises, so an evaluation without errors allocates nothing here. With `collect` off (filters that
 * only need the value) errors are counted but never built.
 */
export class Scope {
  count = 0;
  errors: CesqlError[] | undefined = undefined;
  collect = true;

  fail(kind: CesqlErrorKind, message: string): void {
    this.count++;
    if (!this.collect) return;
    // These errors are results, not exceptions: a stack trace would only cost time.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    const error = new CesqlError(kind, message);
    Error.stackTraceLimit = limit;
    if (this.errors === undefined) this.errors = [error];
    else this.errors.push(error);
  }

  /** Hands over the collected errors (or undefined) and makes the scope ready for the next evaluation. */
  take(): CesqlError[] | undefined {
    const errors = this.errors;
    this.errors = undefined;
    this.count = 0;
    return errors;
  }
}
