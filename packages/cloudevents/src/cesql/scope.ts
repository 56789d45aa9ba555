import { CesqlError, type CesqlErrorKind } from "./errors.js";

/**
 * Collects the errors of one evaluation. Operators compare `count` before and after evaluating
 * their operands to learn whether one of them failed. The list is only allocated once an error
 * arises, so an evaluation without errors allocates nothing here.
 */
export class Scope {
  count = 0;
  errors: CesqlError[] | undefined = undefined;

  fail(kind: CesqlErrorKind, message: string): void {
    const error = new CesqlError(kind, message);
    if (this.errors === undefined) this.errors = [error];
    else this.errors.push(error);
    this.count++;
  }

  /** Hands over the collected errors (or undefined) and makes the scope ready for the next evaluation. */
  take(): CesqlError[] | undefined {
    const errors = this.errors;
    this.errors = undefined;
    this.count = 0;
    return errors;
  }
}
