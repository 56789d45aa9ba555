// Ingest: decode a request once (binary, structured or batch mode), check it against the limits and the
// caller's key, append it to the log in ONE call (the log's group commit coalesces concurrent requests),
// and answer only after the append resolved, i.e. once the events are durable. Any refusal happens
// before the append, so a refused request leaves the log untouched.
import type { IncomingMessage } from "node:http";
import { performance } from "node:perf_hooks";
import { type CloudEvent, decodeHttp } from "@herald/cloudevents";
import { type AppendOptions, type AppendResult, deriveStream, type EventLog } from "@herald/log";
import {
  type AppendedEvent,
  EXPECTED_VERSION_HEADER,
  type ExpectedVersion,
  isSystemStream,
} from "@herald/protocol";
import type { LimitsConfig } from "../config.js";
import type { ServerMetrics } from "../observability/metrics.js";
import { forbiddenType, principalOf } from "./auth.js";
import { readBody } from "./body.js";
import { problemOf } from "./errors.js";
import { HttpProblem, type ProblemFieldError, sendJson } from "./problem.js";
import type { RequestContext, Router } from "./router.js";

export interface IngestDeps {
  readonly log: EventLog;
  readonly limits: LimitsConfig;
  readonly metrics: ServerMetrics;
}

export function registerIngestRoutes(router: Router, deps: IngestDeps): void {
  router.add("POST", "/events", async (ctx) => {
    if (ctx.req.headers[EXPECTED_VERSION_HEADER] !== undefined) {
      ctx.req.resume();
      throw new HttpProblem(
        "expected-version-not-allowed",
        "Herald-Expected-Version needs a stream: use POST /streams/{stream}",
        { errors: [{ field: "Herald-Expected-Version", reason: "only allowed on POST /streams/{stream}" }] },
      );
    }
    await ingest(ctx, deps, {});
  });
}

/** The shared ingest path of `POST /events` and `POST /streams/{stream}`. */
export async function ingest(ctx: RequestContext, deps: IngestDeps, options: AppendOptions): Promise<void> {
  try {
    const events = await decodeRequest(ctx.req, deps.limits);
    checkEvents(events, ctx.req, deps.limits, options.stream);
    const results: readonly AppendedEvent[] = events.length === 0 ? [] : await append(deps, events, options);
    let duplicates = 0;
    for (const result of results) if (result.duplicate) duplicates++;
    deps.metrics.recordIngest(results.length - duplicates, duplicates);
    sendJson(ctx.res, 200, `{"results":${JSON.stringify(results)}}`);
  } catch (error) {
    const problem = problemOf(error);
    if (problem.code !== "internal-error") deps.metrics.recordRejected(problem.status);
    throw error;
  }
}

async function decodeRequest(req: IncomingMessage, limits: LimitsConfig): Promise<CloudEvent[]> {
  const body = await readBody(req, limits.maxBodyBytes);
  // The codec's typed errors become 415 / 400 / 422 in problemOf.
  const events = decodeHttp({ headers: req.headers, body });
  if (events.length > limits.maxBatchLength) {
    throw new HttpProblem(
      "batch-too-large",
      `the batch holds ${events.length} events; the limit is ${limits.maxBatchLength}`,
    );
  }
  return events;
}

/** Limits, system streams and type prefixes: every refusal names the offending event and attribute. */
function checkEvents(
  events: readonly CloudEvent[],
  req: IncomingMessage,
  limits: LimitsConfig,
  stream: string | undefined,
): void {
  const batch = events.length > 1;
  const where = (i: number, field: string) => (batch ? `[${i}].${field}` : field);
  const tooLarge: ProblemFieldError[] = [];
  const systemStreams: ProblemFieldError[] = [];
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
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
  if (tooLarge.length > 0) {
    throw new HttpProblem("attribute-too-large", "an attribute exceeds the size limit", { errors: tooLarge });
  }
  if (systemStreams.length > 0) {
    throw new HttpProblem("system-stream-reserved", "streams starting with `$` belong to Herald", {
      errors: systemStreams,
    });
  }
  const principal = principalOf(req);
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

/** Names of context attributes / extensions whose UTF-8 size exceeds the limit (data is not an attribute). */
function oversizedAttributes(event: CloudEvent, maxBytes: number): string[] {
  const names: string[] = [];
  for (const name of Object.keys(event)) {
    if (name === "data" || name === "data_base64") continue;
    const value = (event as unknown as Record<string, unknown>)[name];
    let bytes = 0;
    if (typeof value === "string") {
      // Cheap bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
      if (value.length * 3 <= maxBytes) continue;
      bytes = Buffer.byteLength(value, "utf8");
    } else if (value instanceof Uint8Array) bytes = value.byteLength;
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
