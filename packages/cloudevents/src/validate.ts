// One pass over an event's members: checks every attribute against the spec and collects every problem.
import type { ValidationIssue } from "./errors.js";
import { KNOWN_EXTENSION_CHECKS } from "./extensions.js";
import {
  ATTRIBUTE_NAME,
  base64ToBytes,
  formatTimestamp,
  isAbsoluteUri,
  isBase64,
  isCeString,
  isInt32,
  isMediaType,
  isTimestamp,
  isUriReference,
} from "./type-system.js";

/** A value of the CloudEvents type system as Herald stores it (number = 32-bit signed Integer). */
export type ExtensionValue = string | number | boolean | Uint8Array;

/** The context attributes defined by the spec (everything else except data is an extension). */
export const CORE_ATTRIBUTES: ReadonlySet<string> = new Set([
  "specversion",
  "id",
  "source",
  "type",
  "datacontenttype",
  "dataschema",
  "subject",
  "time",
]);

export interface NormalizeOptions {
  /** JSON format / bindings: `specversion` and `id` must be present, `null` means absent (JSON schema). */
  readonly strictEnvelope: boolean;
  /** Id to use when none is given (constructor only). */
  readonly makeId?: () => string;
  /** Input written by this package from a valid event (e.g. read back from a log): copy, do not check. */
  readonly trusted?: boolean;
}

/** Where normalize writes the accepted members, in canonical order. */
export type EventTarget = Record<string, unknown>;

const NOT_A_STRING = "must be a String";
const BAD_CHARS =
  "contains characters the CloudEvents String type forbids (control characters, non-characters)";

function checkString(value: unknown, nonEmpty: boolean): string | undefined {
  if (typeof value !== "string") return NOT_A_STRING;
  if (value.length === 0) return nonEmpty ? "must be a non-empty String" : undefined;
  return isCeString(value) ? undefined : BAD_CHARS;
}

/** Checks an extension value against the type system; a reason when it does not fit. */
function checkExtensionValue(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return isCeString(value) ? undefined : BAD_CHARS;
    case "boolean":
      return undefined;
    case "number":
      return isInt32(value)
        ? undefined
        : "must be an Integer (32-bit signed whole number); the type system has no floats";
    case "object":
      if (value instanceof Uint8Array || value instanceof Date) return undefined;
      return value === null
        ? "must not be null (leave it out instead)"
        : "must be a String, Integer, Boolean, Binary (Uint8Array) or Timestamp (Date)";
    default:
      return "must be a String, Integer, Boolean, Binary (Uint8Array) or Timestamp (Date)";
  }
}

/**
 * Validates `init` and, when `target` is given, writes the normalized members into it:
 * specversion, id, source, type, optional attributes, extensions, then data (a Uint8Array for data_base64).
 * Returns the issues found (empty when valid).
 */
export function normalizeEvent(
  init: unknown,
  options: NormalizeOptions,
  target: EventTarget | undefined,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (init === null || typeof init !== "object" || Array.isArray(init)) {
    issues.push({ attribute: "(event)", reason: "must be an object of attributes" });
    return issues;
  }
  const src = init as Record<string, unknown>;
  if (options.trusted === true && target !== undefined) {
    copyTrusted(src, target);
    return issues;
  }
  const strict = options.strictEnvelope;
  let specversion: unknown;
  let id: unknown;
  let source: unknown;
  let type: unknown;
  let datacontenttype: unknown;
  let dataschema: unknown;
  let subject: unknown;
  let time: unknown;
  let data: unknown;
  let hasData = false;
  let dataBase64: unknown;
  let extensions: [string, unknown][] | undefined;

  const keys = Object.keys(src);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = src[key];
    if (value === undefined) continue;
    switch (key) {
      case "specversion":
        specversion = value;
        break;
      case "id":
        id = value;
        break;
      case "source":
        source = value;
        break;
      case "type":
        type = value;
        break;
      case "datacontenttype":
        datacontenttype = value;
        break;
      case "dataschema":
        dataschema = value;
        break;
      case "subject":
        subject = value;
        break;
      case "time":
        time = value;
        break;
      case "data":
        data = value;
        hasData = true;
        break;
      case "data_base64":
        dataBase64 = value;
        break;
      default: {
        if (!ATTRIBUTE_NAME.test(key)) {
          issues.push({
            attribute: key,
            reason: "extension names must consist of lower-case ASCII letters and digits only",
          });
          break;
        }
        if (value === null && strict) break; // JSON null = absent
        let reason = checkExtensionValue(value);
        let stored = value;
        if (value instanceof Date) {
          if (Number.isNaN(value.getTime())) reason = "is an invalid Date";
          else stored = formatTimestamp(value);
        }
        if (reason === undefined) {
          const known = KNOWN_EXTENSION_CHECKS.get(key);
          if (known !== undefined) reason = known(stored);
        }
        if (reason !== undefined) issues.push({ attribute: key, reason });
        else {
          if (stored instanceof Uint8Array && !(stored.constructor === Uint8Array)) {
            stored = new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
          }
          extensions ??= [];
          extensions.push([key, stored]);
        }
      }
    }
  }

  // Required attributes.
  if (specversion === undefined || specversion === null) {
    if (strict) issues.push({ attribute: "specversion", reason: "is required" });
  } else if (specversion !== "1.0") {
    issues.push({ attribute: "specversion", reason: 'must be "1.0"' });
  }
  if (id === undefined || id === null) {
    if (strict || options.makeId === undefined) issues.push({ attribute: "id", reason: "is required" });
    else id = options.makeId();
  } else {
    const r = checkString(id, true);
    if (r !== undefined) issues.push({ attribute: "id", reason: r });
  }
  if (source === undefined || source === null) {
    issues.push({ attribute: "source", reason: "is required" });
  } else {
    const r = checkString(source, true);
    if (r !== undefined) issues.push({ attribute: "source", reason: r });
    else if (!isUriReference(source as string))
      issues.push({ attribute: "source", reason: "must be a URI-reference (RFC 3986)" });
  }
  if (type === undefined || type === null) {
    issues.push({ attribute: "type", reason: "is required" });
  } else {
    const r = checkString(type, true);
    if (r !== undefined) issues.push({ attribute: "type", reason: r });
  }

  // Optional attributes: `null` only means absent in the JSON format.
  if (datacontenttype === null && strict) datacontenttype = undefined;
  if (datacontenttype !== undefined) {
    const r = checkString(datacontenttype, true);
    if (r !== undefined) issues.push({ attribute: "datacontenttype", reason: r });
    else if (!isMediaType(datacontenttype as string))
      issues.push({
        attribute: "datacontenttype",
        reason: "must be a media type (RFC 2046), e.g. text/plain",
      });
  }
  if (dataschema === null && strict) dataschema = undefined;
  if (dataschema !== undefined) {
    const r = checkString(dataschema, true);
    if (r !== undefined) issues.push({ attribute: "dataschema", reason: r });
    else if (!isAbsoluteUri(dataschema as string))
      issues.push({ attribute: "dataschema", reason: "must be an absolute URI (RFC 3986)" });
  }
  if (subject === null && strict) subject = undefined;
  if (subject !== undefined) {
    const r = checkString(subject, true);
    if (r !== undefined) issues.push({ attribute: "subject", reason: r });
  }
  if (time === null && strict) time = undefined;
  if (time !== undefined) {
    if (time instanceof Date) {
      if (Number.isNaN(time.getTime())) issues.push({ attribute: "time", reason: "is an invalid Date" });
      else time = formatTimestamp(time);
    } else if (typeof time !== "string" || !isTimestamp(time)) {
      issues.push({ attribute: "time", reason: "must be an RFC 3339 Timestamp, e.g. 2024-05-01T12:00:00Z" });
    }
  }

  // Data: `data` or `data_base64`, never both.
  if (dataBase64 === null && strict) dataBase64 = undefined;
  if (dataBase64 !== undefined) {
    if (hasData) {
      issues.push({ attribute: "data_base64", reason: "data and data_base64 are mutually exclusive" });
    } else if (typeof dataBase64 !== "string" || !isBase64(dataBase64)) {
      issues.push({ attribute: "data_base64", reason: "must be a Base64 (RFC 4648) String" });
    } else {
      hasData = true;
      data = base64ToBytes(dataBase64);
    }
  }

  if (issues.length > 0 || target === undefined) return issues;
  target["specversion"] = "1.0";
  target["id"] = id;
  target["source"] = source;
  target["type"] = type;
  if (datacontenttype !== undefined) target["datacontenttype"] = datacontenttype;
  if (dataschema !== undefined) target["dataschema"] = dataschema;
  if (subject !== undefined) target["subject"] = subject;
  if (time !== undefined) target["time"] = time;
  if (extensions !== undefined) {
    for (let i = 0; i < extensions.length; i++) {
      const ext = extensions[i]!;
      target[ext[0]] = ext[1];
    }
  }
  if (hasData) {
    // A Buffer (or other subclass) is viewed as a plain Uint8Array so equality and JSON behave the same.
    target["data"] =
      data instanceof Uint8Array && data.constructor !== Uint8Array
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        : data;
  }
  return issues;
}

/** Copies members of an already-validated JSON event as they are (data_base64 becomes bytes, null is absent). */
function copyTrusted(src: Record<string, unknown>, target: EventTarget): void {
  const keys = Object.keys(src);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = src[key];
    if (value === undefined || (value === null && key !== "data") || key === "__proto__") continue;
    if (key === "data_base64" && typeof value === "string") target["data"] = base64ToBytes(value);
    else target[key] = value;
  }
}
