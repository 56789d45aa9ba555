// `herald read <stream>`: print one stream's events, forwards or backwards, page after page.
import type { ReadDirection } from "@herald/protocol";
import { HeraldApiError, type HeraldClient } from "@herald/sdk";
import { CliError } from "../errors.js";
import { formatEvent, type OutputFormat, useColor } from "../format.js";
import type { Output } from "../output.js";

export interface ReadOptions {
  /** First version (inclusive); default 0 forwards, the last version backwards. */
  readonly from?: number;
  /** Print at most this many events; default all. */
  readonly limit?: number;
  readonly direction: ReadDirection;
  readonly format: OutputFormat;
  /** Events per request. */
  readonly pageSize: number;
}

export async function readStream(
  api: HeraldClient,
  stream: string,
  options: ReadOptions,
  out: Output,
): Promise<void> {
  const color = options.format === "pretty" && useColor();
  let from = options.from;
  let shown = 0;
  for (;;) {
    const want =
      options.limit === undefined ? options.pageSize : Math.min(options.pageSize, options.limit - shown);
    if (want <= 0) return;
    let page: Awaited<ReturnType<HeraldClient["readStream"]>>;
    try {
      page = await api.readStream(stream, {
        limit: want,
        direction: options.direction,
        ...(from !== undefined ? { from } : {}),
      });
    } catch (error) {
      if (error instanceof HeraldApiError && error.code === "stream-not-found")
        throw new CliError(`stream ${JSON.stringify(stream)} does not exist (or was deleted)`);
      throw error;
    }
    for (const entry of page.events) out.data(formatEvent(entry, options.format, color));
    shown += page.events.length;
    // A short page is the end (forwards: the head; backwards: version 0).
    if (page.events.length < want || page.next < 0) return;
    from = page.next;
  }
}
