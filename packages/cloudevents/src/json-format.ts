// The JSON event format (json-format.md) and its batch format.
import { CloudEventDecodeError, CloudEventValidationError, type ValidationIssue } from "./errors.js";
import { type CloudEvent, createDecodedEvent, createTrustedEvent, validateDecodedEvent } from "./event.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Text of a JSON payload: UTF-8 bytes are decoded strictly, a leading BOM is dropped. */
export function jsonText(input: string | Uint8Array): string {
  let text: string;
  if (typeof input === "string") text = input;
  else {
    try {
      text = utf8.decode(input);
    } catch (cause) {
      throw new CloudEventDecodeError("malformed", "body is not valid UTF-8", { cause });
    }
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** JSON.parse with the package's typed error. */
export function parseJson(input: string | Uint8Array): unknown {
  const text = jsonText(input);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new CloudEventDecodeError("malformed", `body is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** One event in the JSON event format. */
export function encodeJsonEvent(event: CloudEvent): string {
  return stringify(event);
}

// Data is any JS value the caller chose; a value JSON cannot hold (BigInt, a cycle) gets the typed error.
function stringify(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (cause) {
    throw new CloudEventValidationError(
      [{ attribute: "data", reason: `cannot be written as JSON: ${(cause as Error).message}` }],
      undefined,
    );
  }
}

/** A JSON event (`application/cloudevents+json` body); throws CloudEventDecodeError / CloudEventValidationError. */
export function decodeJsonEvent(input: string | Uint8Array): CloudEvent {
  return decodeJsonEventObject(parseJson(input));
}

/** An event from an already-parsed JSON value. */
export function decodeJsonEventObject(obj: unknown): CloudEvent {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new CloudEventDecodeError("malformed", "a JSON event must be a JSON object");
  }
  return createDecodedEvent(obj);
}

/**
 * Fast path for JSON this package wrote itself from a valid event (e.g. Herald's log reading back what it
 * stored): parses without validating again. Malformed JSON still gives CloudEventDecodeError.
 */
export function decodeTrustedJsonEvent(input: string | Uint8Array): CloudEvent {
  const obj = parseJson(input);
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new CloudEventDecodeError("malformed", "a JSON event must be a JSON object");
  }
  return createTrustedEvent(obj as Record<string, unknown>);
}

/** A JSON batch (`application/cloudevents-batch+json`): an array of JSON events. */
export function encodeJsonBatch(events: readonly CloudEvent[]): string {
  return stringify(events);
}

/**
 * Events of a JSON batch, all or nothing: a CloudEventValidationError lists the issues of every invalid
 * event, each with its `index` in the batch.
 */
export function decodeJsonBatch(input: string | Uint8Array): CloudEvent[] {
  return decodeJsonBatchArray(parseJson(input));
}

/** Events of an already-parsed JSON batch value. */
export function decodeJsonBatchArray(value: unknown): CloudEvent[] {
  if (!Array.isArray(value))
    throw new CloudEventDecodeError("malformed", "a JSON batch must be a JSON array");
  const events: CloudEvent[] = [];
  let issues: ValidationIssue[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      issues ??= [];
      issues.push({ attribute: "(event)", reason: "must be a JSON object", index: i });
      continue;
    }
    if (issues === undefined) {
      try {
        events.push(createDecodedEvent(item));
        continue;
      } catch (err) {
        if (!(err instanceof CloudEventValidationError)) throw err;
        issues = [];
      }
    }
    for (const issue of validateDecodedEvent(item)) issues.push({ ...issue, index: i });
  }
  if (issues !== undefined) throw new CloudEventValidationError(issues);
  return events;
}
