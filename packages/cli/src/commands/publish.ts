// `herald publish`: one event from flags, or JSON lines from a file or stdin in batches.
import { readFileSync } from "node:fs";
import type { AppendResult, HeraldApi, JsonEvent } from "../api-client.js";
import { type Problem, ProblemError } from "../api-client.js";
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

export async function publish(api: HeraldApi, options: PublishOptions, out: Output): Promise<void> {
  if (options.expectedVersion !== undefined) validateExpectedVersion(options.expectedVersion, options.stream);
  if (options.file !== undefined) {
    const mixed = EVENT_FLAGS.filter((name) => options[name] !== undefined);
    if (mixed.length > 0) {
      throw new UsageError(`--file reads whole events; drop --${mixed.map(kebab).join(", --")}`);
    }
    await publishLines(api, options.file, options, out);
    return;
  }
  const event = eventFromFlags({ ...options, ...readDataFile(options.dataFile) });
  const [result] = await api.publish([event], publishTarget(options));
  if (result === undefined) throw new CliError("the server answered without a result for the event");
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

function publishTarget(options: PublishOptions): { stream?: string; expectedVersion?: string } {
  return {
    ...(options.stream !== undefined ? { stream: options.stream } : {}),
    ...(options.expectedVersion !== undefined ? { expectedVersion: options.expectedVersion } : {}),
  };
}

function describeResult(result: AppendResult): string {
  const where = `position ${result.position} (stream ${result.stream}, version ${result.version})`;
  return result.duplicate
    ? `duplicate: ${result.source} ${result.id} is already at ${where}`
    : `published ${result.id} at ${where}`;
}

async function publishLines(api: HeraldApi, path: string, options: PublishOptions, out: Output) {
  const source = openLineSource(path);
  const progress = createProgress(options.progress, source.size, { label: "publishing", unit: "bytes" });
  const started = performance.now();
  const tally = { published: 0, duplicates: 0, first: undefined as number | undefined, last: 0 };
  let batch: JsonEvent[] = [];
  // The input line of each event in the batch, to translate the server's `[i].attr` field names.
  let batchLines: number[] = [];
  let bytesRead = 0;

  const flush = async () => {
    if (batch.length === 0) return;
    let results: AppendResult[];
    try {
      results = await api.publish(batch, { ...publishTarget(options), batch: true });
    } catch (error) {
      if (error instanceof ProblemError) {
        const first = batchLines[0] ?? 0;
        throw new CliError(
          `the server rejected the batch of lines ${first}-${batchLines.at(-1) ?? first} ` +
            `(${batch.length} events, none stored): ${formatProblem(withLineNumbers(error.problem, batchLines))}\n` +
            alreadyPublished(tally.published, first),
        );
      }
      // No answer (connection lost, timeout): this batch may or may not be stored.
      const first = batchLines[0] ?? 0;
      out.message(
        `herald: no answer for the batch of lines ${first}-${batchLines.at(-1) ?? first}: it may or may not ` +
          `be stored; ${tally.published} events before line ${first} were published (durable). ` +
          "Re-publishing is safe for events with an id: the log stores each source+id once.",
      );
      throw error;
    }
    for (const result of results) {
      if (options.json) out.data(JSON.stringify(result));
      if (result.duplicate) tally.duplicates++;
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
      let event: JsonEvent | undefined;
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
function withLineNumbers(problem: Problem, lines: readonly number[]): Problem {
  if (problem.errors === undefined) return problem;
  const errors = problem.errors.map((fieldError) => {
    const match = /^\[(\d+)\]\.?(.*)$/.exec(fieldError.field);
    const line = match ? lines[Number(match[1])] : undefined;
    if (match === null || line === undefined) return fieldError;
    return { ...fieldError, field: match[2] ? `line ${line}: ${match[2]}` : `line ${line}` };
  });
  return { ...problem, errors };
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
