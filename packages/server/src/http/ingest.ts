// Ingest: decode a request once (binary, structured or batch mode), check it against the limits and the
// caller's key, append it to the log in ONE call (the log's group commit coalesces concurrent requests),
// and answer only after the append resolved, i.e. once the events are durable. Any refusal happens
// before the append, so a refused request leaves the log untouched.
import type { IncomingMessage } from "node:http";
import { performance } from "node:perf_hooks";
import {
  CORE_ATTRIBUTES,
  type CloudEvent,
  decodeHttp,
  getDeliverAt,
  mediaTypeEssence,
} from "@herald/cloudevents";
import {
  type AppendOptions,
  type AppendResult,
  deriveStream,
  type EventLog,
  type ScheduleResult,
} from "@herald/log";
import {
  type AppendedEvent,
  EXPECTED_VERSION_HEADER,
  type ExpectedVersion,
  isSystemStream,
  WS_INGEST_PATH,
} from "@herald/protocol";
import type { LimitsConfig } from "../config.js";
import type { ServerMetrics } from "../observability/metrics.js";
import type { SchemaRegistry } from "../schemas/registry.js";
import { forbiddenType, type Principal } from "./auth.js";
import { checkJsonDepth, isJsonBodyType, readBody } from "./body.js";
import { problemOf } from "./errors.js";
import { WsIngest } from "./ingest-ws.js";
import { HttpProblem, type ProblemFieldError, sendJson } from "./problem.js";
import type { RequestContext, Router } from "./router.js";

export interface IngestDeps {
  readonly log: EventLog;
  readonly limits: LimitsConfig;
  readonly metrics: ServerMetrics;
  /** Told of each newly scheduled event's time, so it wakes up then (scheduled/releaser.ts). */
  readonly releaser?: { scheduled(deliverAt: number): void };
  /** The schema registry; with enforcement on, events of registered types are checked before the append. */
  readonly schemas?: SchemaRegistry;
}

/** What the ingest routes leave running: the WebSocket ingest connections. */
export interface IngestRoutes {
  /** Graceful: answers every WebSocket frame in flight, then closes those connections. */
  close(): Promise<void>;
}

export function registerIngestRoutes(
  router: Router,
  deps: IngestDeps,
  options: { readonly onUnexpected?: (error: unknown) => void } = {},
): IngestRoutes {
  const ws = new WsIngest(deps, options);
  router.add({
    method: "POST",
    path: "/events",
    access: "publish",
    handler: async (ctx) => {
      if (ctx.req.headers[EXPECTED_VERSION_HEADER] !== undefined) {
        ctx.req.resume();
        throw new HttpProblem(
          "expected-version-not-allowed",
          "Herald-Expected-Version needs a stream: use POST /streams/{stream}",
          {
            errors: [{ field: "Herald-Expected-Version", reason: "only allowed on POST /streams/{stream}" }],
          },
        );
      }
      await ingest(ctx, deps, {});
    },
  });
  router.upgrade({ path: WS_INGEST_PATH, access: "publish", handler: (ctx) => ws.upgrade(ctx) });
  return { close: () => ws.close() };
}

/** The shared ingest path of `POST /events` and `POST /streams/{stream}`. */
export async function ingest(ctx: RequestContext, deps: IngestDeps, options: AppendOptions): Promise<void> {
  const results = await countingRejections(deps, async () => {
    const events = await decodeRequest(ctx.req, deps.limits);
    return await appendIngested(events, ctx.principal, deps, options);
  });
  sendJson(ctx.res, 200, `{"results":${JSON.stringify(results)}}`);
}

/**
 * What every ingest path (HTTP, WebSocket) does once the events are decoded: the batch limit, the
 * attribute limits, system streams, the key's type prefixes, the registered schemas (with enforcement
 * on), then ONE append and the ingest metrics.
 * Refusals are thrown as problems before anything is appended.
 */
export async function appendIngested(
  events: readonly CloudEvent[],
  principal: Principal,
  deps: IngestDeps,
  options: AppendOptions,
): Promise<readonly AppendedEvent[]> {
  if (events.length > deps.limits.maxBatchLength) {
    throw new HttpProblem(
      "batch-too-large",
      `the batch holds ${events.length} events; the limit is ${deps.limits.maxBatchLength}`,
    );
  }
  checkEvents(events, principal, deps.limits, options.stream);
  const checked = deps.schemas?.enforce === true ? await deps.schemas.check(events) : events;
  const deliverAt = scheduledTimes(checked, options);
  const results: readonly AppendedEvent[] =
    checked.length === 0
      ? []
      : deliverAt === undefined
        ? await append(deps, checked, options)
        : await schedule(deps, checked, deliverAt, options);
  let duplicates = 0;
  for (const result of results) if (result.duplicate) duplicates++;
  deps.metrics.recordIngest(results.length - duplicates, duplicates);
  return results;
}

/** Runs one ingest and counts its refusal (by status) in the metrics; internal errors are not refusals. */
export async function countingRejections<T>(deps: IngestDeps, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const problem = problemOf(error);
    if (problem.code !== "internal-error") deps.metrics.recordRejected(problem.status);
    throw error;
  }
}

async function decodeRequest(req: IncomingMessage, limits: LimitsConfig): Promise<CloudEvent[]> {
  const body = await readBody(req, limits.maxBodyBytes);
  checkDepth(req.headers["content-type"], body, limits.maxJsonDepth);
  // The codec's typed errors become 415 / 400 / 422 in problemOf.
  return decodeHttp({ headers: req.headers, body });
}

/**
 * Deeply nested `data` overflows the recursive encoders after the parse (JSON.stringify fails near
 * 5 000 levels), so the depth is checked on the raw text first. Levels of the envelope around `data`
 * (the event object, the batch array) do not count. Binary mode checks only JSON data.
 */
function checkDepth(contentType: string | undefined, body: Buffer, limit: number): void {
  if (body.length === 0 || !isJsonBodyType(contentType)) return;
  const essence = mediaTypeEssence(contentType!);
  const envelope = essence.startsWith("application/cloudevents-batch")
    ? 2
    : essence.startsWith("application/cloudevents")
      ? 1
      : 0;
  checkJsonDepth(body, limit, "data", envelope);
}

/** Limits, system streams and type prefixes: every refusal names the offending event and attribute. */
function checkEvents(
  events: readonly CloudEvent[],
  principal: Principal,
  limits: LimitsConfig,
  stream: string | undefined,
): void {
  const batch = events.length > 1;
  const where = (i: number, field: string) => (batch ? `[${i}].${field}` : field);
  const tooLarge: ProblemFieldError[] = [];
  const longNames: ProblemFieldError[] = [];
  const systemStreams: ProblemFieldError[] = [];
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    for (const name of Object.keys(event)) {
      if (name.length > limits.maxExtensionNameLength && isExtension(name)) {
        longNames.push({
          field: where(i, `${name.slice(0, 32)}…`),
          reason: `extension name of ${name.length} characters; the limit is ${limits.maxExtensionNameLength}`,
        });
      }
    }
    if (longNames.length > 0) continue;
    for (const name of oversizedAttributes(event, limits.maxAttributeBytes)) {
      tooLarge.push({ field: where(i, name), reason: `longer than ${limits.maxAttributeBytes} bytes` });
    }
    if (stream === undefined) {
      const derived = deriveStream(event);
      if (isSystemStream(derived)) {
        systemStreams.push({
          field: where(i, "stream"),
          reason: `derived stream ${JSON.stringify(derived)} is a system stream ($ prefix)`,
        });
      }
    }
  }
  if (longNames.length > 0) {
    throw new HttpProblem("extension-name-too-long", "an extension name exceeds the length limit", {
      errors: longNames,
    });
  }
  if (tooLarge.length > 0) {
    throw new HttpProblem("attribute-too-large", "an attribute exceeds the size limit", { errors: tooLarge });
  }
  if (systemStreams.length > 0) {
    throw new HttpProblem("system-stream-reserved", "streams starting with `$` belong to Herald", {
      errors: systemStreams,
    });
  }
  if (principal.typePrefixes === undefined) return;
  const forbidden = forbiddenType(
    principal,
    events.map((e) => e.type),
  );
  if (forbidden !== undefined) {
    throw new HttpProblem("event-type-forbidden", `the API key may not publish events of type ${forbidden}`, {
      errors: [{ field: "type", reason: `allowed type prefixes: ${principal.typePrefixes.join(", ")}` }],
    });
  }
}

function isExtension(name: string): boolean {
  return name !== "data" && name !== "data_base64" && !CORE_ATTRIBUTES.has(name);
}

/**
 * Names of context attributes / extensions whose UTF-8 size exceeds the limit (data is not an
 * attribute). An extension's name counts too (names are ASCII: one byte per character).
 */
function oversizedAttributes(event: CloudEvent, maxBytes: number): string[] {
  const names: string[] = [];
  for (const name of Object.keys(event)) {
    if (name === "data" || name === "data_base64") continue;
    const value = (event as unknown as Record<string, unknown>)[name];
    let bytes = isExtension(name) ? name.length : 0;
    if (typeof value === "string") {
      // Cheap bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
      if (bytes + value.length * 3 <= maxBytes) continue;
      bytes += Buffer.byteLength(value, "utf8");
    } else if (value instanceof Uint8Array) bytes += value.byteLength;
    if (bytes > maxBytes) names.push(name);
  }
  return names;
}

async function append(
  deps: IngestDeps,
  events: readonly CloudEvent[],
  options: AppendOptions,
): Promise<readonly AppendResult[]> {
  const started = performance.now();
  // Version conflicts, deleted streams and a closed log become problems in problemOf.
  try {
    return await deps.log.append(events, options);
  } finally {
    deps.metrics.observeAppend((performance.now() - started) / 1000);
  }
}

/**
 * The `deliverat` times (ms) when the request schedules its events, undefined when it appends them
 * now (no `deliverat`, or one not in the future). A batch is atomic, so it is one or the other whole.
 */
function scheduledTimes(events: readonly CloudEvent[], options: AppendOptions): number[] | undefined {
  const now = Date.now();
  const times = events.map((event) => getDeliverAt(event));
  const future = times.filter((time) => time !== undefined && time > now).length;
  if (future === 0) return undefined;
  if (future < events.length)
    throw new HttpProblem(
      "scheduled-batch-mixed",
      `${future} of the batch's ${events.length} events have a future deliverat; schedule them in a request of their own`,
    );
  const expected = options.expectedVersion ?? "any";
  if (expected !== "any")
    throw new HttpProblem(
      "scheduled-expected-version",
      "an event with a future deliverat gets its version when released: send no Herald-Expected-Version",
      {
        errors: [
          { field: "Herald-Expected-Version", reason: "only `any` is allowed with a future deliverat" },
        ],
      },
    );
  return times as number[];
}

async function schedule(
  deps: IngestDeps,
  events: readonly CloudEvent[],
  deliverAt: readonly number[],
  options: AppendOptions,
): Promise<readonly AppendedEvent[]> {
  const results = await deps.log.scheduled.add(
    events.map((event, index) => ({ event, deliverAt: deliverAt[index]! })),
    options.stream === undefined ? undefined : { stream: options.stream },
  );
  let earliest = Number.POSITIVE_INFINITY;
  for (const result of results)
    if (result.scheduled && !result.duplicate) earliest = Math.min(earliest, result.deliverAt!);
  if (earliest !== Number.POSITIVE_INFINITY) deps.releaser?.scheduled(earliest);
  return results.map(toAppended);
}

/** The wire answer of a schedule result (a pending one says so; one already in the log is a duplicate). */
function toAppended(result: ScheduleResult): AppendedEvent {
  const { id, source, position, stream, version, duplicate } = result;
  if (!result.scheduled) return { id, source, position, stream, version, duplicate };
  return {
    id,
    source,
    position,
    stream,
    version,
    duplicate,
    scheduled: true,
    deliverAt: new Date(result.deliverAt!).toISOString(),
  };
}

/** Parses `Herald-Expected-Version`: any | no-stream | exists | a non-negative integer. */
export function parseExpectedVersion(header: string | string[] | undefined): ExpectedVersion {
  if (header === undefined) return "any";
  const value = Array.isArray(header) ? header.join(",") : header.trim();
  if (value === "any" || value === "no-stream" || value === "exists") return value;
  if (/^\d{1,15}$/.test(value)) return Number(value);
  throw new HttpProblem(
    "expected-version-invalid",
    "Herald-Expected-Version must be any, no-stream, exists or a version number",
    { errors: [{ field: "Herald-Expected-Version", reason: `invalid value ${JSON.stringify(value)}` }] },
  );
}
