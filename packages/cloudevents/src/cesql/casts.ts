import type { Scope } from "./scope.js";
import type { CesqlType, CesqlValue } from "./types.js";

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

export type ConcreteType = Exclude<CesqlType, "any">;

export function typeOfValue(value: CesqlValue): ConcreteType {
  return typeof value === "string" ? "string" : typeof value === "number" ? "integer" : "boolean";
}

export function zeroValue(type: CesqlType): CesqlValue {
  return type === "integer" ? 0 : type === "string" ? "" : false;
}

/**
 * Parses base-10 text with an optional sign as a 32-bit integer (§3.7 String -> Integer); undefined
 * when it is not one. No whitespace, no other radix, no exponent.
 */
export function parseInt32(text: string): number | undefined {
  const length = text.length;
  let i = 0;
  let negative = false;
  const first = text.charCodeAt(0);
  if (first === 43 || first === 45) {
    negative = first === 45;
    i = 1;
  }
  if (i >= length) return undefined;
  const limit = negative ? 2147483648 : INT32_MAX;
  let value = 0;
  for (; i < length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
    if (value > limit) return undefined;
  }
  return negative ? (value === 0 ? 0 : -value) : value;
}

/** §3.7 casts to Integer; a failed cast records a CastError and yields 0. */
export function toInteger(value: CesqlValue, scope: Scope): number {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  const parsed = parseInt32(value);
  if (parsed !== undefined) return parsed;
  scope.fail("cast", `cannot cast ${JSON.stringify(value)} to Integer`);
  return 0;
}

/** §3.7 casts to Boolean; a failed cast records a CastError and yields false. */
export function toBoolean(value: CesqlValue, scope: Scope): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (value.length === 4 || value.length === 5) {
    const lower = value.toLowerCase();
    if (lower === "true") return true;
    if (lower === "false") return false;
  }
  scope.fail("cast", `cannot cast ${JSON.stringify(value)} to Boolean`);
  return false;
}

/** §3.7 casts to String; they cannot fail. */
export function toStringValue(value: CesqlValue): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  return value ? "true" : "false";
}

export function castTo(type: ConcreteType, value: CesqlValue, scope: Scope): CesqlValue {
  switch (type) {
    case "integer":
      return toInteger(value, scope);
    case "boolean":
      return toBoolean(value, scope);
    default:
      return toStringValue(value);
  }
}
