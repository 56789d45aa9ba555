// Reads of the global log. Stored events are spliced into the answer as the JSON the log kept,
// never decoded and re-encoded (only a CESQL filter decodes, lazily, inside the log's scan).
import type { StoredEvent } from "@herald/log";
import type { EventLog, EventPredicate } from "@herald/log";
import { isSystemStream } from "@herald/protocol";
import type { LimitsConfig } from "../config.js";
import { compileFilter } from "./filter.js";
import { HttpProblem, sendJson } from "./problem.js";
import type { Router } from "./router.js";

export interface ReadDeps {
  readonly log: EventLog;
  readonly limits: LimitsConfig;
}

export function registerReadRoutes(router: Router, deps: ReadDeps): void {
  router.add({
    method: "GET",
    path: "/events",
    access: "consume",
    handler: async ({ res, url }) => {
      const query = url.searchParams;
      const after = intParam(query, "after", 0, 0);
      const limit = intParam(
        query,
        "limit",
        Math.min(100, deps.limits.maxReadLimit),
        1,
        deps.limits.maxReadLimit,
      );
      const system = boolParam(query, "system");
      const filter = query.get("filter");
      const predicate = buildPredicate(filter === null || filter.trim() === "" ? undefined : filter, system);
      const page = await deps.log.read(
        predicate
          ? { after, limit, filter: predicate, scanLimit: deps.limits.maxReadScan }
          : { after, limit },
      );
      sendJson(res, 200, eventsPage(page.events, page.next));
    },
  });
}

/** `$` streams are Herald's own; they are left out unless asked for with `?system=true`. */
function buildPredicate(filter: string | undefined, system: boolean): EventPredicate | undefined {
  if (filter === undefined) return system ? undefined : (stored) => !isSystemStream(stored.stream);
  const matches = compileFilter(filter);
  if (system) return (stored) => matches(stored.event);
  return (stored) => !isSystemStream(stored.stream) && matches(stored.event);
}

/**
 * `{"events":[{"position","stream","version","recordedAt","event"}],"next":N}` with each event's stored
 * JSON spliced in; recordedAt is sent as ms (a number costs nothing to splice, a date string would).
 */
export function eventsPage(events: readonly StoredEvent[], next: number): string {
  let out = '{"events":[';
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (i > 0) out += ",";
    out += `{"position":${e.position},"stream":${JSON.stringify(e.stream)},"version":${e.version},"recordedAt":${e.recordedAt},"event":${e.json}}`;
  }
  return `${out}],"next":${next}}`;
}

/** An integer query parameter within [min, max]; 400 naming the parameter otherwise. */
export function intParam(
  query: URLSearchParams,
  name: string,
  fallback: number,
  min: number,
  max?: number,
): number {
  const raw = query.get(name);
  if (raw === null || raw === "") return fallback;
  const value = /^-?\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
  if (Number.isNaN(value) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
    throw new HttpProblem("query-invalid", `query parameter ${name} must be an integer ${range}`, {
      errors: [{ field: name, reason: `invalid value ${JSON.stringify(raw)}` }],
    });
  }
  return value;
}

export function boolParam(query: URLSearchParams, name: string): boolean {
  const raw = query.get(name);
  if (raw === null || raw === "" || raw === "false") return false;
  if (raw === "true") return true;
  throw new HttpProblem("query-invalid", `query parameter ${name} must be true or false`, {
    errors: [{ field: name, reason: `invalid value ${JSON.stringify(raw)}` }],
  });
}
