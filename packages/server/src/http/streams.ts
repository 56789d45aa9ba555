// One stream: append with an expected version (the event-store use) and read forwards or backwards.
import { type EventLog, type StoredEvent, StreamDeletedError } from "@herald/log";
import type { LimitsConfig } from "../config.js";
import { type IngestDeps, ingest, parseExpectedVersion } from "./ingest.js";
import {
  EXPECTED_VERSION_HEADER,
  isSystemStream,
  type ListStreamsResponse,
  type ReadDirection,
  type StreamSummary,
} from "@herald/protocol";
import { HttpProblem, sendJson } from "./problem.js";
import { boolParam, eventsPage, intParam } from "./reads.js";
import type { Router } from "./router.js";

export interface StreamDeps extends IngestDeps {
  readonly log: EventLog;
  readonly limits: LimitsConfig;
  /** `retention.hardDelete`: whether `?hard=true` may remove a stream's tombstone. */
  readonly hardDelete: boolean;
}

export function registerStreamRoutes(router: Router, deps: StreamDeps): void {
  router.add({
    method: "GET",
    path: "/streams",
    access: "consume",
    handler: async ({ res, url }) => {
      const query = url.searchParams;
      const limit = intParam(
        query,
        "limit",
        Math.min(100, deps.limits.maxReadLimit),
        1,
        deps.limits.maxReadLimit,
      );
      const prefix = query.get("prefix") ?? "";
      const after = query.get("after") ?? undefined;
      const system = boolParam(query, "system");
      const deleted = boolParam(query, "deleted");
      sendJson(res, 200, await listStreams(deps.log, { prefix, after, limit, system, deleted }));
    },
  });

  router.add({
    method: "DELETE",
    path: "/streams/:stream",
    access: "admin",
    handler: async ({ req, res, params, url }) => {
      const stream = params.stream!;
      checkStreamName(stream, deps.limits);
      if (isSystemStream(stream))
        throw new HttpProblem("system-stream-reserved", "streams starting with `$` belong to Herald", {
          errors: [{ field: "stream", reason: "system streams cannot be deleted over HTTP" }],
        });
      const hard = boolParam(url.searchParams, "hard");
      if (hard && !deps.hardDelete)
        throw new HttpProblem(
          "hard-delete-disabled",
          "hard deletes are turned off (retention.hardDelete is false); a soft delete keeps the tombstone",
        );
      const expectedVersion = parseExpectedVersion(req.headers[EXPECTED_VERSION_HEADER]);
      // A name with no events is a typo more often than a wish to reserve it: 404, no tombstone.
      // A hard delete may remove the tombstone a soft delete left.
      const info = await deps.log.streamInfo(stream);
      if (info === undefined || (info.deleted && !hard))
        throw new HttpProblem(
          "stream-not-found",
          `stream ${JSON.stringify(stream)} ${info === undefined ? "does not exist" : "was already deleted"}`,
        );
      if (hard) {
        await deps.log.deleteStream(stream, { expectedVersion, hard: true });
        sendJson(res, 200, { stream, version: info.version, deleted: true } satisfies StreamSummary);
        return;
      }
      await deps.log.deleteStream(stream, { expectedVersion });
      const after = await deps.log.streamInfo(stream);
      const answer: StreamSummary = { stream, version: after?.version ?? info.version, deleted: true };
      sendJson(res, 200, answer);
    },
  });

  router.add({
    method: "POST",
    path: "/streams/:stream",
    access: "publish",
    handler: async (ctx) => {
      const stream = ctx.params.stream!;
      try {
        checkStreamName(stream, deps.limits);
        if (isSystemStream(stream))
          throw new HttpProblem("system-stream-reserved", "streams starting with `$` belong to Herald", {
            errors: [{ field: "stream", reason: "system streams cannot be appended to" }],
          });
        const expectedVersion = parseExpectedVersion(ctx.req.headers[EXPECTED_VERSION_HEADER]);
        await ingest(ctx, deps, { stream, expectedVersion });
      } finally {
        // A refusal before the body was read must still drain it, or keep-alive stalls.
        if (!ctx.req.readableEnded) ctx.req.resume();
      }
    },
  });

  router.add({
    method: "GET",
    path: "/streams/:stream",
    access: "consume",
    handler: async ({ res, url, params }) => {
      const stream = params.stream!;
      checkStreamName(stream, deps.limits);
      const query = url.searchParams;
      const directionRaw = query.get("direction") ?? "forwards";
      if (directionRaw !== "forwards" && directionRaw !== "backwards") {
        throw new HttpProblem("query-invalid", "query parameter direction must be forwards or backwards", {
          errors: [{ field: "direction", reason: `invalid value ${JSON.stringify(directionRaw)}` }],
        });
      }
      const direction: ReadDirection = directionRaw;
      const limit = intParam(
        query,
        "limit",
        Math.min(100, deps.limits.maxReadLimit),
        1,
        deps.limits.maxReadLimit,
      );
      const fromGiven = query.get("from") !== null && query.get("from") !== "";
      const from = intParam(query, "from", 0, direction === "backwards" ? -1 : 0);
      const options = fromGiven ? { from, limit, direction } : { limit, direction };
      const events = fromGiven && from < 0 ? [] : await readStream(deps.log, stream, options);
      if (events.length === 0) {
        const info = await deps.log.streamInfo(stream);
        if (info === undefined || info.deleted)
          throw new HttpProblem("stream-not-found", `stream ${JSON.stringify(stream)} does not exist`);
      }
      // `next` is the `from` of the following page: never skips, never repeats.
      const last = events.at(-1);
      let next: number;
      if (direction === "forwards") next = last ? last.version + 1 : fromGiven ? from : 0;
      else next = last ? last.version - 1 : fromGiven ? from : -1;
      sendJson(res, 200, eventsPage(events, next));
    },
  });
}

/**
 * One page of stream names after `after`. `$` streams and tombstones are dropped unless asked for; the
 * page is refilled until it holds `limit` streams or the log has no more names, so `next` is null only
 * at the end.
 */
async function listStreams(
  log: EventLog,
  q: { prefix: string; after: string | undefined; limit: number; system: boolean; deleted: boolean },
): Promise<ListStreamsResponse> {
  const streams: StreamSummary[] = [];
  let after = q.after;
  for (;;) {
    const want = q.limit - streams.length;
    const page = await log.listStreams({
      prefix: q.prefix,
      limit: want,
      ...(after !== undefined ? { after } : {}),
    });
    for (const info of page) {
      if (!q.system && isSystemStream(info.stream)) continue;
      if (!q.deleted && info.deleted) continue;
      streams.push({ stream: info.stream, version: info.version, deleted: info.deleted });
    }
    if (page.length < want) return { streams, next: null };
    after = page.at(-1)!.stream;
    if (streams.length >= q.limit) return { streams, next: after };
  }
}

async function readStream(
  log: EventLog,
  stream: string,
  options: Parameters<EventLog["readStream"]>[1],
): Promise<readonly StoredEvent[]> {
  try {
    return await log.readStream(stream, options);
  } catch (error) {
    // Readers see a deleted stream as gone (404), unlike an append to it (409 stream-deleted).
    if (error instanceof StreamDeletedError) {
      throw new HttpProblem("stream-not-found", `stream ${JSON.stringify(stream)} was deleted`);
    }
    throw error;
  }
}

function checkStreamName(stream: string, limits: LimitsConfig): void {
  if (stream.length === 0 || Buffer.byteLength(stream) > limits.maxAttributeBytes) {
    throw new HttpProblem(
      "stream-name-invalid",
      `stream name must be 1 to ${limits.maxAttributeBytes} bytes`,
      {
        errors: [{ field: "stream", reason: "invalid length" }],
      },
    );
  }
}
