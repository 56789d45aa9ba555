// `herald replay`: read a range of the log (positions or a time window) and POST each event to a sink.
import type { JsonEventObject, LogEntry } from "@herald/protocol";
import type { HeraldClient } from "@herald/sdk";
import { CliError, UsageError } from "../errors.js";
import type { Output } from "../output.js";
import { findHeadPosition } from "../positions.js";
import { createProgress, type ProgressMode } from "../progress.js";
import { type ContentMode, deliver, type HttpMessage, SinkError } from "../sink.js";

export interface ReplayOptions {
  readonly from?: number;
  readonly to?: number;
  /** ms since the epoch */
  readonly since?: number;
  readonly until?: number;
  /**
   * What --since/--until compare with: `event` (default) the event's `time`, or when it has none the time
   * the log recorded it, scanning to the end of the log; `log` the recorded time alone, stopping at --until.
   */
  readonly clock?: ReplayClock;
  readonly sink: string;
  readonly filter?: string;
  readonly mode: ContentMode;
  readonly limit: number;
  readonly retries: number;
  readonly continueOnError: boolean;
  readonly dryRun: boolean;
  readonly progress: ProgressMode;
}

export type ReplayClock = "event" | "log";

export type Encoder = (event: JsonEventObject, mode: ContentMode) => HttpMessage;

export async function replay(
  api: HeraldClient,
  options: ReplayOptions,
  encode: Encoder,
  out: Output,
  signal: AbortSignal,
): Promise<void> {
  const window = checkRange(options);
  const clock = options.clock ?? "event";
  if (options.clock !== undefined && window.kind !== "time")
    throw new UsageError("--clock applies to a time window (--since/--until)");
  const head = await findHeadPosition(api, false);
  const startAfter = window.kind === "positions" ? window.from - 1 : 0;
  const end = window.kind === "positions" ? Math.min(window.to ?? head, head) : head;
  const progress = createProgress(options.progress, Math.max(0, end - startAfter), {
    label: options.dryRun ? "counting" : "replaying",
    unit: "positions",
    bigTotal: 10_000,
  });
  const started = performance.now();
  const tally = { sent: 0, failed: 0, first: undefined as number | undefined, last: 0 };
  const skipped = { before: 0, after: 0, byRecordedAt: 0 };
  const failures: string[] = [];
  let after = startAfter;
  let interruptedAt: number | undefined;
  try {
    scan: while (after < end && !signal.aborted) {
      const page = await api.readEvents({
        after,
        limit: options.limit,
        ...(options.filter !== undefined ? { filter: options.filter } : {}),
      });
      if (page.events.length === 0 && page.next <= after) break;
      for (const entry of page.events) {
        if (entry.position > end) break scan;
        if (signal.aborted) {
          interruptedAt = entry.position;
          break scan;
        }
        if (window.kind === "time") {
          // recordedAt never decreases with position: with the log's clock nothing after this entry is
          // in the window. Events' own times need not be monotone (backfills), so that clock scans on.
          if (clock === "log" && window.until !== undefined && entry.recordedAt > window.until) break scan;
          const { time, recorded } =
            clock === "log" ? { time: entry.recordedAt, recorded: false } : eventTime(entry);
          if (recorded) skipped.byRecordedAt++;
          if (time < window.since) {
            skipped.before++;
            continue;
          }
          if (window.until !== undefined && time > window.until) {
            skipped.after++;
            continue;
          }
        }
        if (!options.dryRun) {
          try {
            await deliver(entry.event, {
              url: options.sink,
              encode: (event) => encode(event, options.mode),
              retries: options.retries,
            });
          } catch (error) {
            if (!(error instanceof SinkError)) throw error;
            tally.failed++;
            failures.push(`position ${entry.position} (${String(entry.event.id)}): ${error.message}`);
            if (!options.continueOnError) {
              throw new CliError(
                `replay stopped at position ${entry.position}: ${error.message}\n` +
                  `${tally.sent} events were delivered before it; ${resumeHint(window, entry.position)}`,
              );
            }
            continue;
          }
        }
        tally.sent++;
        tally.first ??= entry.position;
        tally.last = entry.position;
      }
      after = Math.max(after, page.next);
      progress.update(Math.min(after, end) - startAfter, tally.sent);
    }
    if (signal.aborted) interruptedAt ??= after + 1;
  } finally {
    progress.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  const range = tally.first === undefined ? "" : ` (positions ${tally.first}..${tally.last})`;
  const verb = options.dryRun ? "would replay" : "replayed";
  out.data(
    `${verb} ${tally.sent} events${range} to ${options.sink} in ${seconds.toFixed(2)}s` +
      (tally.failed > 0 ? `; ${tally.failed} failed` : ""),
  );
  if (window.kind === "time") {
    const outside = skipped.before + skipped.after;
    if (outside > 0)
      out.message(
        `herald: skipped ${outside}: outside --since/--until (${skipped.before} before, ${skipped.after} after)`,
      );
    if (skipped.byRecordedAt > 0)
      out.message(
        `herald: ${skipped.byRecordedAt} events had no time attribute; the time the log recorded them was used`,
      );
  }
  if (interruptedAt !== undefined) {
    throw new CliError(`replay interrupted; ${resumeHint(window, interruptedAt)}`);
  }
  if (tally.failed > 0) {
    for (const failure of failures.slice(0, 20)) out.message(`  failed: ${failure}`);
    throw new CliError(`${tally.failed} events could not be delivered to ${options.sink}`);
  }
}

function resumeHint(window: Window, position: number): string {
  if (window.kind === "time") return `the rest of the window starts at position ${position}`;
  return `resume with --from ${position}` + (window.to !== undefined ? ` --to ${window.to}` : "");
}

type Window =
  | { kind: "positions"; from: number; to?: number }
  | { kind: "time"; since: number; until?: number };

function checkRange(options: ReplayOptions): Window {
  const byPosition = options.from !== undefined || options.to !== undefined;
  const byTime = options.since !== undefined || options.until !== undefined;
  if (byPosition && byTime)
    throw new UsageError("give a position range (--from/--to) or a time window (--since/--until), not both");
  if (byPosition) {
    if (options.from === undefined) throw new UsageError("--to needs --from");
    if (options.to !== undefined && options.to < options.from) {
      throw new UsageError(`--to ${options.to} is before --from ${options.from}`);
    }
    return { kind: "positions", from: options.from, ...(options.to !== undefined ? { to: options.to } : {}) };
  }
  if (byTime) {
    if (options.since === undefined) throw new UsageError("--until needs --since");
    if (options.until !== undefined && options.until < options.since) {
      throw new UsageError("--until is before --since");
    }
    return {
      kind: "time",
      since: options.since,
      ...(options.until !== undefined ? { until: options.until } : {}),
    };
  }
  throw new UsageError("say what to replay: --from POSITION [--to POSITION] or --since TIME [--until TIME]");
}

/**
 * The time a window applies to: the event's `time`, or when it has none (or an unreadable one) the time
 * the log recorded it.
 */
function eventTime(entry: LogEntry): { time: number; recorded: boolean } {
  const time = typeof entry.event.time === "string" ? Date.parse(entry.event.time) : Number.NaN;
  if (Number.isNaN(time)) return { time: entry.recordedAt, recorded: true };
  return { time, recorded: false };
}
