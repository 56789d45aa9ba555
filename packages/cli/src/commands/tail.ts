// `herald tail`: follow the log (polling GET /events), one stream (polling GET /streams/{stream}) or a
// subscription (pull + ack). Once connected, a lost server is retried with backoff unless --no-retry.
import { backoffDelay, type JsonEventObject } from "@herald/protocol";
import { HeraldApiError, type HeraldClient, type PulledMessage, TransportError } from "@herald/sdk";
import { UsageError } from "../errors.js";
import { formatEvent, type OutputFormat, useColor } from "../format.js";
import type { Output } from "../output.js";
import { findHeadPosition } from "../positions.js";
import { connectionMessage } from "../report.js";

export interface TailOptions {
  /** `beginning`, `now` or a position (inclusive); with `stream`, a version. */
  readonly from: string;
  readonly filter?: string;
  readonly sub?: string;
  readonly stream?: string;
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
  /** Reconnect with backoff when the server goes away (after the first answer). Default true. */
  readonly retry?: boolean;
  /** Backoff of the reconnects (the protocol's retry model). */
  readonly backoff?: { readonly baseMs: number; readonly capMs: number };
}

const DEFAULT_BACKOFF = { baseMs: 250, capMs: 5_000 };

export async function tail(api: HeraldClient, options: TailOptions, out: Output, signal: AbortSignal) {
  if (options.sub !== undefined) {
    if (options.filter !== undefined) {
      throw new UsageError(
        "--filter applies to the log; a subscription filters with its own filters " +
          "(herald subs create --filter ...)",
      );
    }
    if (options.stream !== undefined) throw new UsageError("give --sub or --stream, not both");
    if (options.from !== "now")
      throw new UsageError("--from applies to the log; a subscription has its own start");
    await tailSubscription(api, options.sub, options, out, signal);
    return;
  }
  if (options.stream !== undefined) {
    if (options.filter !== undefined) throw new UsageError("--filter applies to the log, not to --stream");
    await tailStream(api, options.stream, options, out, signal);
    return;
  }
  await tailLog(api, options, out, signal);
}

/**
 * Runs one call. Before the server has answered once, a failure ends the tail (a wrong --url should not
 * hang); afterwards a lost connection or a 5xx is retried with backoff, said once on stderr.
 */
class Reconnector {
  #connected = false;
  #failures = 0;
  constructor(
    private readonly api: HeraldClient,
    private readonly options: TailOptions,
    private readonly out: Output,
    private readonly signal: AbortSignal,
  ) {}

  async call<T>(run: () => Promise<T>): Promise<T | undefined> {
    for (;;) {
      try {
        const value = await run();
        if (this.#failures > 0) this.out.message(`herald: reconnected to ${this.api.url}`);
        this.#failures = 0;
        this.#connected = true;
        return value;
      } catch (error) {
        if (this.signal.aborted && error instanceof TransportError) return undefined;
        const lost =
          error instanceof TransportError || (error instanceof HeraldApiError && error.status >= 500);
        if (!lost || !this.#connected || this.options.retry === false) throw error;
        this.#failures++;
        const delay = backoffDelay(this.#failures, this.options.backoff ?? DEFAULT_BACKOFF);
        const why =
          error instanceof TransportError ? connectionMessage(error) : `server answered ${error.status}`;
        if (this.#failures === 1) this.out.message(`herald: ${why}; retrying (--no-retry to exit instead)`);
        await sleep(delay, this.signal);
        if (this.signal.aborted) return undefined;
      }
    }
  }
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
  const link = new Reconnector(api, options, out, signal);
  let shown = 0;
  while (!signal.aborted) {
    const page = await link.call(() =>
      api.readEvents({
        after,
        limit: options.count === undefined ? options.limit : Math.min(options.limit, options.count - shown),
        ...(options.filter !== undefined ? { filter: options.filter } : {}),
        ...(options.system ? { system: true } : {}),
      }),
    );
    if (page === undefined) return;
    for (const entry of page.events) {
      out.data(formatEvent(entry, options.format, color));
      // Only what was printed moves `after`: a reconnect resumes right behind the last line.
      after = entry.position;
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

/** The first version to show: 0, the one after the stream's last (now), or the one given. */
async function startVersion(api: HeraldClient, stream: string, from: string): Promise<number> {
  if (from === "beginning") return 0;
  if (/^\d+$/.test(from)) return Number(from);
  if (from !== "now")
    throw new UsageError(
      `with --stream, --from must be beginning, now or a version (0 or more), got "${from}"`,
    );
  try {
    const last = await api.readStream(stream, { direction: "backwards", limit: 1 });
    return (last.events[0]?.version ?? -1) + 1;
  } catch (error) {
    // Not there yet: follow it from its first event.
    if (error instanceof HeraldApiError && error.status === 404) return 0;
    throw error;
  }
}

async function tailStream(
  api: HeraldClient,
  stream: string,
  options: TailOptions,
  out: Output,
  signal: AbortSignal,
) {
  const color = options.format === "pretty" && useColor();
  let from = await startVersion(api, stream, options.from);
  if (options.follow) {
    out.message(`herald: following stream ${stream} at ${api.url} from version ${from} (Ctrl-C to stop)`);
  }
  const link = new Reconnector(api, options, out, signal);
  let shown = 0;
  while (!signal.aborted) {
    const limit =
      options.count === undefined ? options.limit : Math.min(options.limit, options.count - shown);
    const page = await link.call(async () => {
      try {
        return await api.readStream(stream, { from, limit });
      } catch (error) {
        // A stream that does not exist (yet) is an empty one to a follower.
        if (error instanceof HeraldApiError && error.status === 404 && options.follow)
          return { events: [], next: from };
        throw error;
      }
    });
    if (page === undefined) return;
    for (const entry of page.events) {
      out.data(formatEvent(entry, options.format, color));
      from = entry.version + 1;
      if (options.count !== undefined && ++shown >= options.count) return;
    }
    if (page.events.length === 0) {
      if (!options.follow) return;
      await sleep(options.intervalMs, signal);
    }
  }
}

/** Positions already printed, so a redelivery after a reconnect is acked, not printed twice. */
class PrintedSet {
  readonly #seen = new Set<number>();
  constructor(private readonly capacity = 10_000) {}
  has(position: number): boolean {
    return this.#seen.has(position);
  }
  add(position: number): void {
    this.#seen.add(position);
    // Sets iterate in insertion order: the oldest goes first.
    if (this.#seen.size > this.capacity) this.#seen.delete(this.#seen.values().next().value!);
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
  const link = new Reconnector(api, options, out, signal);
  const printed = new PrintedSet();
  let shown = 0;
  while (!signal.aborted) {
    const max = options.count === undefined ? options.limit : Math.min(options.limit, options.count - shown);
    const messages: PulledMessage[] | undefined = await link.call(() =>
      api.pull(id, { max, waitMs: options.follow ? options.waitMs : 0, signal }),
    );
    // Ctrl-C ends the long poll: what it handed out is redelivered after its lease.
    if (messages === undefined) return;
    if (messages.length === 0 && !options.follow) return;
    for (const message of messages) {
      if (printed.has(message.position)) continue;
      const event = message.event.toJSON() as JsonEventObject;
      out.data(formatEvent({ ...message, event }, options.format, color));
      printed.add(message.position);
      shown++;
    }
    // Ack only what was printed: an interrupted tail leaves nothing acked unseen. An ack lost with the
    // server is harmless: the redelivery is recognised above and acked without printing.
    if (options.ack && messages.length > 0) {
      const ackIds = messages.map((m) => m.ackId);
      const acked = await link.call(async () => {
        try {
          return await api.ack(id, ackIds);
        } catch (error) {
          if (error instanceof TransportError && !signal.aborted) return undefined;
          throw error;
        }
      });
      if (acked === undefined && signal.aborted) return;
    }
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
