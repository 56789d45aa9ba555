// Ingest: decode a request once (binary, structured or batch mode), check it against the limits and the
// caller's key, append it to the log in ONE call (the log's group commit coalesces concurrent requests),
// and answer only after the append resolved, i.e. once the events are durable. Any refusal happens
// before the append, so a refused request leaves the log untouched.
import type { IncomingMessage } from "node:http";
import { performance } from "node:perf_hooks";
import {
  type CloudEvent,
  CloudEventDecodeError,
  CloudEventValidationError,
  decodeHttp,
} from "@herald/cloudevents";
import {
  type AppendOptions,
  type AppendResult,
  deriveStream,
  type EventLog,
  type ExpectedVersion,
  LogClosedError,
  LogInputError,
  StreamDeletedError,
  VersionConflictError,
} from "@herald/log";
import type { LimitsConfig } from "../config.js";
import type { ServerMetrics } from "../observability/metrics.js";
import { forbiddenType, principalOf } from "./auth.js";
import { readBody } from "./body.js";
import {
  badRequest,
  conflict,
  HttpProblem,
  type ProblemFieldError,
  payloadTooLarge,
  sendJson,
  unprocessable,
  unsupportedMediaType,
} from "./problem.js";
import type { RequestContext, Router } from "./router.js";

export const EXPECTED_VERSION_HEADER = "herald-expected-version";

export interface IngestDeps {
  readonly log: EventLog;
  readonly limits: LimitsConfig;
  readonly metrics: ServerMetrics;
}

export function registerIngestRoutes(router: Router, deps: IngestDeps): void {
  router.add("POST", "/events", async (ctx) => {
    if (ctx.req.headers[EXPECTED_VERSION_HEADER] !== undefined) {
      ctx.req.resume();
      throw badRequest("Herald-Expected-Version needs a stream: use POST /streams/{stream}", [
        { field: "Herald-Expected-Version", reason: "only allowed on POST /streams/{stream}" },
      ]);
    }
    await ingest(ctx, deps, {});
  });
}

/** The shared ingest path of `POST /events` and `POST /streams/{stream}`. */
export async function ingest(ctx: RequestContext, deps: IngestDeps, options: AppendOptions): Promise<void> {
  try {
    const events = await decodeRequest(ctx.req, deps.limits);
    checkEvents(events, ctx.req, deps.limits, options.stream);
    const results = events.length === 0 ? [] : await append(deps, events, options);
    let duplicates = 0;
    for (const result of results) if (result.duplicate) duplicates++;
    deps.metrics.recordIngest(results.length - duplicates, duplicates);
    sendJson(ctx.res, 200, `{"results":${JSON.stringify(results)}}`);
  } catch (error) {
    if (error instanceof HttpProblem) deps.metrics.recordRejected(error.status);
    throw error;
  }
}

async function decodeRequest(req: IncomingMessage, limits: LimitsConfig): Promise<CloudEvent[]> {
  const body = await readBody(req, limits.maxBodyBytes);
  let events: CloudEvent[];
  try {
    events = decodeHttp({ headers: req.headers, body });
  } catch (error) {
    throw decodeProblem(error);
  }
  if (events.length > limits.maxBatchLength) {
    throw payloadTooLarge(`the batch holds ${events.length} events; the limit is ${limits.maxBatchLength}`);
  }
  return events;
}

/** Maps the codec's typed errors onto 415 / 400 / 422. */
function decodeProblem(error: unknown): unknown {
  if (error instanceof CloudEventValidationError) {
    const errors = error.issues.map((issue) => ({
      field: issue.index === undefined ? issue.attribute : `[${issue.index}].${issue.attribute}`,
      reason: issue.reason,
    }));
    return unprocessable(`the event is not a valid CloudEvent: ${error.message}`, errors);
  }
  if (error instanceof CloudEventDecodeError) {
    if (error.reason === "unsupported-media-type") return unsupportedMediaType(error.message);
    return badRequest(error.message, [{ field: "body", reason: error.reason }]);
  }
  return error;
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
      if (derived.startsWith("$")) {
        systemStreams.push({
          field: where(i, "stream"),
          reason: `derived stream ${JSON.stringify(derived)} is a system stream ($ prefix)`,
        });
      }
    }
  }
  if (tooLarge.length > 0) throw badRequest("an attribute exceeds the size limit", tooLarge);
  if (systemStreams.length > 0) throw badRequest("streams starting with `$` belong to Herald", systemStreams);
  const principal = principalOf(req);
  if (principal.typePrefixes === undefined) return;
  const forbidden = forbiddenType(
    principal,
    events.map((e) => e.type),
  );
  if (forbidden !== undefined) {
    throw new HttpProblem(403, "Forbidden", `the API key may not publish events of type ${forbidden}`, {
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
  try {
    return await deps.log.append(events, options);
  } catch (error) {
    if (error instanceof VersionConflictError) {
      throw conflict(
        `stream ${JSON.stringify(error.stream)} is at version ${error.actual}, expected ${error.expected}`,
        { stream: error.stream, expectedVersion: error.expected, actualVersion: error.actual },
      );
    }
    if (error instanceof StreamDeletedError) {
      throw new HttpProblem(409, "Stream Deleted", `stream ${JSON.stringify(error.stream)} was deleted`, {
        extensions: { stream: error.stream },
      });
    }
    if (error instanceof LogInputError) throw badRequest(error.message);
    if (error instanceof LogClosedError) {
      throw new HttpProblem(503, "Service Unavailable", "the log is closed: the server is shutting down", {
        headers: { "retry-after": "1" },
      });
    }
    throw error;
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
  throw badRequest(`Herald-Expected-Version must be any, no-stream, exists or a version number`, [
    { field: "Herald-Expected-Version", reason: `invalid value ${JSON.stringify(value)}` },
  ]);
}
