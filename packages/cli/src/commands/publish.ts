// `herald publish`: one event from flags, or JSON lines from a file or stdin in batches.
import { readFileSync } from "node:fs";
import type { AppendedEvent, ExpectedVersion, JsonEventObject } from "@herald/protocol";
import {
  type ApiProblem,
  type BatchSendResult,
  HeraldApiError,
  type HeraldClient,
  type SendOptions,
} from "@herald/sdk";
import { CliError, UsageError } from "../errors.js";
import { type EventFlags, eventFromFlags, parseEventLine } from "../event-input.js";
import { openLineSource } from "../line-reader.js";
import type { Output } from "../output.js";
import { createProgress, type ProgressMode } from "../progress.js";
import { formatProblem } from "../report.js";

export interface PublishOptions extends Omit<EventFlags, "dataFileText"> {
  readonly dataFile?: string;
  readonly file?: string;
  readonly stream?: string;
  readonly expectedVersion?: string;
  readonly batchSize: number;
  readonly json?: boolean;
  readonly progress: ProgressMode;
}

const EVENT_FLAGS = [
  "type",
  "source",
  "id",
  "subject",
  "time",
  "dataschema",
  "data",
  "dataFile",
  "ext",
] as const;

export async function publish(client: HeraldClient, options: PublishOptions, out: Output): Promise<void> {
  if (options.expectedVersion !== undefined) validateExpectedVersion(options.expectedVersion, options.stream);
  if (options.file !== undefined) {
    const mixed = EVENT_FLAGS.filter((name) => options[name] !== undefined);
    if (mixed.length > 0) {
      throw new UsageError(`--file reads whole events; drop --${mixed.map(kebab).join(", --")}`);
    }
    await publishLines(client, options.file, options, out);
    return;
  }
  const event = eventFromFlags({ ...options, ...readDataFile(options.dataFile) });
  const sent = await client.send(event, publishTarget(options));
  // A refusal is the server's problem (exit 1); no answer is a TransportError (exit 3).
  if (sent.kind === "nack") throw new HeraldApiError(sent.status, sent.problem);
  if (sent.kind === "undelivered") throw sent.error;
  const result: AppendedEvent = sent;
  if (options.json) out.data(JSON.stringify(result));
  else out.data(describeResult(result));
}

function readDataFile(path: string | undefined): { dataFileText?: string } {
  if (path === undefined) return {};
  try {
    return { dataFileText: readFileSync(path, "utf8") };
  } catch (error) {
    throw new UsageError(
      `cannot read --data-file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
}

function validateExpectedVersion(value: string, stream: string | undefined): void {
  if (stream === undefined) throw new UsageError("--expected-version needs --stream");
  if (!/^(any|no-stream|exists|\d+)$/.test(value)) {
    throw new UsageError(
      `--expected-version must be any, no-stream, exists or a version number, got "${value}"`,
    );
  }
}

/** The server validates the events (`validate: false`): its problem names each bad field. */
function publishTarget(options: PublishOptions): SendOptions {
  return {
    validate: false,
    ...(options.stream !== undefined ? { stream: options.stream } : {}),
    ...(options.expectedVersion !== undefined
      ? { expectedVersion: expectedVersionOf(options.expectedVersion) }
      : {}),
  };
}

function expectedVersionOf(value: string): ExpectedVersion {
  return /^\d+$/.test(value) ? Number(value) : (value as ExpectedVersion);
}

function describeResult(result: AppendedEvent): string {
  if (result.scheduled === true)
    return result.duplicate
      ? `duplicate: ${result.source} ${result.id} is already scheduled for ${result.deliverAt} (stream ${result.stream})`
      : `scheduled ${result.id} for ${result.deliverAt} (stream ${result.stream}; deliverat: not appended before then)`;
  const where = `position ${result.position} (stream ${result.stream}, version ${result.version})`;
  return result.duplicate
    ? `duplicate: ${result.source} ${result.id} is already at ${where}`
    : `published ${result.id} at ${where}`;
}

async function publishLines(client: HeraldClient, path: string, options: PublishOptions, out: Output) {
  const source = openLineSource(path);
  const progress = createProgress(options.progress, source.size, { label: "publishing", unit: "bytes" });
  const started = performance.now();
  const tally = { published: 0, duplicates: 0, first: undefined as number | undefined, last: 0 };
  let batch: JsonEventObject[] = [];
  // The input line of each event in the batch, to translate the server's `[i].attr` field names.
  let batchLines: number[] = [];
  let bytesRead = 0;

  const flush = async () => {
    if (batch.length === 0) return;
    const sent: BatchSendResult = await client.sendBatch(batch, publishTarget(options));
    if (sent.kind === "nack") {
      const first = batchLines[0] ?? 0;
      throw new CliError(
        `the server rejected the batch of lines ${first}-${batchLines.at(-1) ?? first} ` +
          `(${batch.length} events, none stored): ${formatProblem(withLineNumbers(sent.problem, batchLines))}\n` +
          alreadyPublished(tally.published, first),
      );
    }
    if (sent.kind === "undelivered") {
      // No answer (connection lost, timeout): this batch may or may not be stored.
      const first = batchLines[0] ?? 0;
      out.message(
        `herald: no answer for the batch of lines ${first}-${batchLines.at(-1) ?? first}: it may or may not ` +
          `be stored; ${tally.published} events before line ${first} were published (durable). ` +
          "Re-publishing is safe for events with an id: the log stores each source+id once.",
      );
      throw sent.error;
    }
    const { results } = sent;
    for (const result of results) {
      if (options.json) out.data(JSON.stringify(result));
      if (result.duplicate) tally.duplicates++;
      // A scheduled event has no position yet (0): it is counted, not placed.
      if (result.scheduled === true) continue;
      tally.first = Math.min(tally.first ?? result.position, result.position);
      tally.last = Math.max(tally.last, result.position);
    }
    tally.published += results.length;
    batch = [];
    batchLines = [];
    progress.update(bytesRead, tally.published);
  };

  try {
    for await (const { text, line, bytesRead: read } of source.lines()) {
      let event: JsonEventObject | undefined;
      try {
        event = parseEventLine(text, line);
      } catch (error) {
        throw new CliError(
          `${source.name}: ${(error as Error).message}\n${alreadyPublished(tally.published, line)}`,
        );
      }
      bytesRead = read;
      if (event === undefined) continue;
      batchLines.push(line);
      batch.push(event);
      if (batch.length >= options.batchSize) await flush();
    }
    await flush();
  } finally {
    progress.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  if (!options.json) {
    const range = tally.first === undefined ? "" : `, positions ${tally.first}..${tally.last}`;
    const dupes = tally.duplicates > 0 ? ` (${tally.duplicates} duplicates)` : "";
    const rate = seconds > 0 ? Math.round(tally.published / seconds) : tally.published;
    out.data(
      `published ${tally.published} events${dupes} from ${source.name}${range} in ${seconds.toFixed(2)}s ` +
        `(${rate} events/s)`,
    );
  }
}

/** `[3].type` (the 4th event of the batch) becomes `line 17: type`. */
function withLineNumbers(problem: ApiProblem, lines: readonly number[]): ApiProblem {
  if (!Array.isArray(problem.errors)) return problem;
  const errors = (problem.errors as readonly unknown[]).map((fieldError) => {
    if (!isFieldError(fieldError)) return fieldError;
    const match = /^\[(\d+)\]\.?(.*)$/.exec(fieldError.field);
    const line = match ? lines[Number(match[1])] : undefined;
    if (match === null || line === undefined) return fieldError;
    return { ...fieldError, field: match[2] ? `line ${line}: ${match[2]}` : `line ${line}` };
  });
  // The errors keep their shape (field, reason), only the field names change.
  return { ...problem, errors } as ApiProblem;
}

function isFieldError(value: unknown): value is { field: string; reason: string } {
  return (
    typeof value === "object" && value !== null && typeof (value as { field?: unknown }).field === "string"
  );
}

function alreadyPublished(count: number, beforeLine: number): string {
  return count === 0
    ? "nothing was published"
    : `${count} events before line ${beforeLine} were published (durable); ` +
        `fix the input and resume from line ${beforeLine}`;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}
