// `herald tail`: follow the log (polling GET /events) or a subscription (pull + ack).
import type { JsonEventObject } from "@herald/protocol";
import { type HeraldClient, type PulledMessage, TransportError } from "@herald/sdk";
import { UsageError } from "../errors.js";
import { formatEvent, type OutputFormat, useColor } from "../format.js";
import type { Output } from "../output.js";
import { findHeadPosition } from "../positions.js";

export interface TailOptions {
  /** `beginning`, `now` or a position (inclusive). */
  readonly from: string;
  readonly filter?: string;
  readonly sub?: string;
  readonly format: OutputFormat;
  /** Stop after this many events. */
  readonly count?: number;
  /** false: stop at the end of the log (or when a pull comes back empty). */
  readonly follow: boolean;
  readonly intervalMs: number;
  readonly limit: number;
  readonly system?: boolean;
  readonly ack: boolean;
  readonly waitMs: number;
}

export async function tail(api: HeraldClient, options: TailOptions, out: Output, signal: AbortSignal) {
  if (options.sub !== undefined) {
    if (options.filter !== undefined) {
      throw new UsageError(
        "--filter applies to the log; a subscription filters with its own filters " +
          "(herald subs create --filter ...)",
      );
    }
    if (options.from !== "now")
      throw new UsageError("--from applies to the log; a subscription has its own start");
    await tailSubscription(api, options.sub, options, out, signal);
    return;
  }
  await tailLog(api, options, out, signal);
}

async function startAfter(api: HeraldClient, from: string, system: boolean): Promise<number> {
  if (from === "beginning") return 0;
  if (from === "now") return findHeadPosition(api, system);
  if (/^\d+$/.test(from) && Number(from) >= 1) return Number(from) - 1;
  throw new UsageError(`--from must be beginning, now or a position (1 or more), got "${from}"`);
}

async function tailLog(api: HeraldClient, options: TailOptions, out: Output, signal: AbortSignal) {
  const color = options.format === "pretty" && useColor();
  let after = await startAfter(api, options.from, options.system === true);
  if (options.follow) {
    out.message(`herald: following ${api.url} after position ${after} (Ctrl-C to stop)`);
  }
  let shown = 0;
  while (!signal.aborted) {
    const page = await api.readEvents({
      after,
      limit: options.count === undefined ? options.limit : Math.min(options.limit, options.count - shown),
      ...(options.filter !== undefined ? { filter: options.filter } : {}),
      ...(options.system ? { system: true } : {}),
    });
    for (const entry of page.events) {
      out.data(formatEvent(entry, options.format, color));
      if (options.count !== undefined && ++shown >= options.count) return;
    }
    const atEnd = page.events.length === 0 && page.next <= after;
    after = Math.max(after, page.next);
    if (atEnd) {
      if (!options.follow) return;
      await sleep(options.intervalMs, signal);
    }
  }
}

async function tailSubscription(
  api: HeraldClient,
  id: string,
  options: TailOptions,
  out: Output,
  signal: AbortSignal,
) {
  const color = options.format === "pretty" && useColor();
  if (options.follow) {
    out.message(`herald: consuming subscription ${id} at ${api.url} (Ctrl-C to stop)`);
  }
  let shown = 0;
  while (!signal.aborted) {
    const max = options.count === undefined ? options.limit : Math.min(options.limit, options.count - shown);
    let messages: PulledMessage[];
    try {
      messages = await api.pull(id, { max, waitMs: options.follow ? options.waitMs : 0, signal });
    } catch (error) {
      // Ctrl-C ends the long poll: what it handed out is redelivered after its lease.
      if (error instanceof TransportError && signal.aborted) return;
      throw error;
    }
    if (messages.length === 0 && !options.follow) return;
    for (const message of messages) {
      const event = message.event.toJSON() as JsonEventObject;
      out.data(formatEvent({ ...message, event }, options.format, color));
      shown++;
    }
    // Ack only what was printed: an interrupted tail leaves nothing acked unseen.
    if (options.ack && messages.length > 0)
      await api.ack(
        id,
        messages.map((m) => m.ackId),
      );
    if (options.count !== undefined && shown >= options.count) return;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
