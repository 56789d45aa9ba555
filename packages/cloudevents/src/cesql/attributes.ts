import type { CesqlEvent, CesqlValue } from "./types.js";

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * Reads a context attribute or extension as a CESQL value, or undefined when the event does not
 * have it. Only own properties count, so prototype members (`constructor`, class methods) are never
 * seen, and `data` is not a context attribute. Values that are not CESQL primitives are represented
 * as Strings (§3.2): Binary as base64, Timestamp (Date) as RFC 3339, URL as its href, numbers that
 * are not 32-bit integers as their decimal text. Anything else (objects, null, functions) is no
 * CloudEvents attribute value and counts as absent.
 */
export function readAttribute(event: CesqlEvent, name: string): CesqlValue | undefined {
  const value = event[name];
  if (value === undefined || !Object.hasOwn(event, name) || name === "data") return undefined;
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX ? value | 0 : String(value);
    case "bigint":
      return value >= INT32_MIN && value <= INT32_MAX ? Number(value) : value.toString();
    case "object":
      return value === null ? undefined : representObject(value);
    default:
      return undefined;
  }
}

export function missingAttributeMessage(name: string): string {
  return `missing attribute ${JSON.stringify(name)}`;
}

function representObject(value: object): string | undefined {
  if (value instanceof Uint8Array) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  }
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  }
  if (value instanceof URL) return value.href;
  return undefined;
}
