/** The error kinds of CESQL v1 §3.3 (GenericError has no use in this engine). */
export type CesqlErrorKind =
  | "parse"
  | "math"
  | "cast"
  | "missingAttribute"
  | "missingFunction"
  | "functionEvaluation";

/**
 * The one error type of the CESQL engine. `compileCesql` throws it with kind `"parse"`;
 * evaluation never throws but returns these errors beside the value.
 */
export class CesqlError extends Error {
  override readonly name = "CesqlError";
  readonly kind: CesqlErrorKind;
  /** 0-based offset into the expression where a parse error was found; undefined for evaluation errors. */
  readonly position: number | undefined;

  constructor(kind: CesqlErrorKind, message: string, position?: number) {
    super(message);
    this.kind = kind;
    this.position = position;
  }
}

/** A parse error at `position`, with the position in the message so a plain log line is useful. */
export function parseError(message: string, position: number): CesqlError {
  return new CesqlError("parse", `${message} (at offset ${position})`, position);
}
