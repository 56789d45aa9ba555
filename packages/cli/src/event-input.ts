// Turns what the user typed or piped into CloudEvents in the JSON event format.
import { randomUUID } from "node:crypto";
import { JSON_MEDIA_TYPE, type JsonEventObject, type JsonValue } from "@herald/protocol";
import { CliError, UsageError } from "./errors.js";

export interface EventFlags {
  readonly type?: string;
  readonly source?: string;
  readonly id?: string;
  readonly subject?: string;
  readonly time?: string;
  readonly dataschema?: string;
  readonly datacontenttype?: string;
  /** JSON text. */
  readonly data?: string;
  /** File contents, already read: JSON when the content type is JSON (or unset), else text. */
  readonly dataFileText?: string;
  /** `name=value` pairs. */
  readonly ext?: readonly string[];
}

const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;
const RESERVED = new Set([
  "specversion",
  "id",
  "source",
  "type",
  "subject",
  "time",
  "dataschema",
  "datacontenttype",
  "data",
  "data_base64",
]);

/** Builds one event from `herald publish` flags. Throws UsageError naming the bad flag. */
export function eventFromFlags(flags: EventFlags): JsonEventObject {
  if (flags.type === undefined || flags.type === "")
    throw new UsageError("--type is required (or use --file)");
  if (flags.source === undefined || flags.source === "") {
    throw new UsageError("--source is required (or use --file)");
  }
  if (flags.data !== undefined && flags.dataFileText !== undefined) {
    throw new UsageError("use either --data or --data-file, not both");
  }
  // Mutable while it is built; the server validates what comes out.
  const event: Record<string, JsonValue> = {
    specversion: "1.0",
    id: flags.id ?? randomUUID(),
    source: flags.source,
    type: flags.type,
    time: flags.time ?? new Date().toISOString(),
  };
  if (flags.subject !== undefined) event.subject = flags.subject;
  if (flags.dataschema !== undefined) event.dataschema = flags.dataschema;
  for (const pair of flags.ext ?? []) {
    const [name, value] = parseExtension(pair);
    event[name] = value;
  }
  if (flags.data !== undefined) {
    const contentType = flags.datacontenttype ?? JSON_MEDIA_TYPE;
    event.datacontenttype = contentType;
    if (!isJsonContentType(contentType)) event.data = flags.data;
    else event.data = parseJsonFlag("--data", flags.data);
  } else if (flags.dataFileText !== undefined) {
    const contentType = flags.datacontenttype ?? JSON_MEDIA_TYPE;
    event.datacontenttype = contentType;
    if (!isJsonContentType(contentType)) event.data = flags.dataFileText;
    else event.data = parseJsonFlag("--data-file", flags.dataFileText);
  } else if (flags.datacontenttype !== undefined) {
    event.datacontenttype = flags.datacontenttype;
  }
  return event as JsonEventObject;
}

function parseJsonFlag(flag: string, text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new UsageError(
      `${flag} is not valid JSON (${(error as Error).message}); ` +
        `pass --datacontenttype text/plain to send it as text`,
    );
  }
}

function parseExtension(pair: string): [string, string] {
  const eq = pair.indexOf("=");
  if (eq <= 0) throw new UsageError(`--ext expects name=value, got "${pair}"`);
  const name = pair.slice(0, eq);
  if (!EXTENSION_NAME.test(name)) {
    throw new UsageError(`--ext name "${name}" must be 1-20 lower-case letters or digits (CloudEvents 1.0)`);
  }
  if (RESERVED.has(name)) throw new UsageError(`--ext cannot set "${name}": use its own flag`);
  return [name, pair.slice(eq + 1)];
}

export function isJsonContentType(contentType: string): boolean {
  const mediaType = contentType.split(";")[0]!.trim().toLowerCase();
  return mediaType === JSON_MEDIA_TYPE || mediaType === "text/json" || mediaType.endsWith("+json");
}

/** A bad line of a JSON-lines input. */
export class InputLineError extends CliError {
  readonly line: number;
  constructor(line: number, reason: string) {
    super(`line ${line}: ${reason}`);
    this.name = "InputLineError";
    this.line = line;
  }
}

/**
 * Parses one line of a JSON-lines file into an event. Blank lines give undefined.
 * Missing `specversion` and `id` are filled in (a fresh UUID), so hand-written files stay short;
 * everything else is left for the server to validate (the CLI sends it with `validate: false`).
 */
export function parseEventLine(text: string, line: number): JsonEventObject | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed) as unknown;
  } catch (error) {
    throw new InputLineError(line, `not valid JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new InputLineError(line, "expected one JSON object (a CloudEvent) per line");
  }
  const event = parsed as Record<string, JsonValue>;
  if (event.specversion === undefined) event.specversion = "1.0";
  if (event.id === undefined) event.id = randomUUID();
  return event as JsonEventObject;
}
