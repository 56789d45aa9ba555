// The immutable CloudEvent: validated on construction, frozen, changed only by copying (cloneWith).
import { generateEventId } from "./event-id.js";
import { CloudEventValidationError, type ValidationIssue } from "./errors.js";
import { bytesToBase64 } from "./type-system.js";
import { CORE_ATTRIBUTES, type ExtensionValue, type NormalizeOptions, normalizeEvent } from "./validate.js";

/** Input accepted by the constructor: attributes and extensions flat, like the JSON format. */
export interface CloudEventInit<T = unknown> {
  specversion?: "1.0";
  id?: string;
  source: string;
  type: string;
  datacontenttype?: string;
  dataschema?: string;
  subject?: string;
  /** Stored as an RFC 3339 string. */
  time?: string | Date;
  /** JSON value, string, or Uint8Array for binary data. */
  data?: T;
  /** Alternative to data (decoded into data as a Uint8Array). */
  data_base64?: string;
  [extension: string]: unknown;
}

const CONSTRUCT_OPTIONS: NormalizeOptions = { strictEnvelope: false, makeId: () => generateEventId() };
const DECODE_OPTIONS: NormalizeOptions = { strictEnvelope: true };
const TRUSTED_OPTIONS: NormalizeOptions = { strictEnvelope: true, trusted: true };

// Lets decoders build an event from already-parsed input with the JSON format's rules
// (specversion and id required, null = absent) without a second validation pass.
let pendingOptions: NormalizeOptions = CONSTRUCT_OPTIONS;

/**
 * A CloudEvents 1.0 event. Attributes, extensions and data are own enumerable properties (like the official
 * SDK); method names contain an upper-case letter so they never collide with an extension name.
 */
export class CloudEvent<T = unknown> {
  declare readonly specversion: "1.0";
  declare readonly id: string;
  declare readonly source: string;
  declare readonly type: string;
  declare readonly datacontenttype?: string;
  declare readonly dataschema?: string;
  declare readonly subject?: string;
  declare readonly time?: string;
  declare readonly data?: T;
  readonly [extension: string]: unknown;

  /** Validates `init` (throws CloudEventValidationError listing every problem); id = a new UUIDv7 if absent. */
  constructor(init: CloudEventInit<T>) {
    const options = pendingOptions;
    pendingOptions = CONSTRUCT_OPTIONS;
    const issues = normalizeEvent(init, options, this as unknown as Record<string, unknown>);
    if (issues.length > 0) throw new CloudEventValidationError(issues);
    Object.freeze(this);
  }

  /** A copy with `patch` applied; a patch value `undefined` removes that attribute or extension. */
  cloneWith<U = T>(patch: Partial<CloudEventInit<U>>): CloudEvent<U> {
    const init: Record<string, unknown> = Object.create(null);
    const own = Object.keys(this);
    for (let i = 0; i < own.length; i++) init[own[i]!] = this[own[i]!];
    if (patch.data_base64 !== undefined) delete init["data"];
    const keys = Object.keys(patch);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const value = (patch as Record<string, unknown>)[key];
      if (value === undefined) delete init[key];
      else init[key] = value;
    }
    return new CloudEvent<U>(init as unknown as CloudEventInit<U>);
  }

  /** The extensions (every member that is neither a spec attribute nor data). */
  extensionsRecord(): Readonly<Record<string, ExtensionValue>> {
    const out: Record<string, ExtensionValue> = {};
    const own = Object.keys(this);
    for (let i = 0; i < own.length; i++) {
      const key = own[i]!;
      if (key !== "data" && !CORE_ATTRIBUTES.has(key)) out[key] = this[key] as ExtensionValue;
    }
    return out;
  }

  /** The JSON event format object: binary data as `data_base64`, binary extensions as Base64 strings. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const own = Object.keys(this);
    for (let i = 0; i < own.length; i++) {
      const key = own[i]!;
      const value = this[key];
      if (value instanceof Uint8Array) {
        if (key === "data") out["data_base64"] = bytesToBase64(value);
        else out[key] = bytesToBase64(value);
      } else {
        out[key] = value;
      }
    }
    return out;
  }
}

/**
 * Builds an event from decoded input with the JSON format's envelope rules: `specversion` and `id` are
 * required and `null` optional members count as absent. Used by the format and every binding.
 */
export function createDecodedEvent(init: unknown): CloudEvent {
  pendingOptions = DECODE_OPTIONS;
  try {
    return new CloudEvent(init as CloudEventInit);
  } finally {
    pendingOptions = CONSTRUCT_OPTIONS;
  }
}

/**
 * Builds an event from a JSON event object this package wrote from a valid event (e.g. read back from
 * Herald's own log) WITHOUT validating it again. Never use it on input from outside.
 */
export function createTrustedEvent(obj: Record<string, unknown>): CloudEvent {
  pendingOptions = TRUSTED_OPTIONS;
  try {
    return new CloudEvent(obj as unknown as CloudEventInit);
  } finally {
    pendingOptions = CONSTRUCT_OPTIONS;
  }
}

/** Every problem the constructor would report for `init`; [] when valid. */
export function validateCloudEvent(init: unknown): ReadonlyArray<ValidationIssue> {
  return normalizeEvent(init, CONSTRUCT_OPTIONS, undefined);
}

/** Every problem a decoder would report for this decoded object (JSON format rules); [] when valid. */
export function validateDecodedEvent(obj: unknown): ReadonlyArray<ValidationIssue> {
  return normalizeEvent(obj, DECODE_OPTIONS, undefined);
}
