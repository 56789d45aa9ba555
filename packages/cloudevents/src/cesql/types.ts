import type { CesqlError } from "./errors.js";

/** A CESQL value: Boolean, Integer (32-bit signed) or String. */
export type CesqlValue = boolean | number | string;

/**
 * The input of an evaluation: a plain attributes object or a Herald `CloudEvent`.
 * Only own properties are read; `data` and `data_base64` are never context attributes.
 */
export type CesqlEvent = Readonly<Record<string, unknown>>;

export interface CesqlEvaluation {
  readonly value: CesqlValue;
  /** Errors raised while evaluating, in the order they arose; empty when all went well. */
  readonly errors: readonly CesqlError[];
}

export interface CompiledCesql {
  readonly expression: string;
  evaluate(event: CesqlEvent): CesqlEvaluation;
  /** true iff the value is the Boolean `true` (the value is used even when errors arose); for filters. */
  matches(event: CesqlEvent): boolean;
}

/** The static type of a subexpression; `any` for attribute references, known only per event. */
export type CesqlType = "boolean" | "integer" | "string" | "any";
