// Lineage and correlation queries (the console's "where did my event go"): the causes of an event
// through `causationid`, its effects (recursively), and the events sharing its `correlationid`. They
// read the log's lineage index (EventLog.readLinked), which holds only events carrying causationid or
// correlationid, so the append of any other event pays nothing for it.
//
// Finding the event asked about: by position (always works), or by source+id (EventLog.findEvent: the
// dedupe window, or the lineage index for linked events). A cause named by causationid is looked up by
// id in the lineage index; a cause carrying neither attribute (the root of a conversation, usually) is
// not indexed, so it is looked for among the CAUSE_SCAN positions before the event that names it.
import type { EventLog, StoredEvent } from "@herald/log";
import { HttpProblem, sendJson } from "./problem.js";
import { eventsPage, intParam } from "./reads.js";
import type { Router } from "./router.js";

export interface LineageDeps {
  readonly log: EventLog;
  readonly limits: { readonly maxReadLimit: number };
}

/** Positions scanned before an event for a cause the lineage index does not hold. */
export const CAUSE_SCAN = 10_000;
const MAX_DEPTH = 50;
const MAX_LIMIT = 1000;

export function registerLineageRoutes(router: Router, deps: LineageDeps): void {
  router.add({
    method: "GET",
    path: "/events/lineage",
    access: "consume",
    handler: async ({ res, url }) => {
      const query = url.searchParams;
      const depth = intParam(query, "depth", 10, 1, MAX_DEPTH);
      const limit = intParam(query, "limit", 200, 1, MAX_LIMIT);
      const target = await findTarget(deps.log, query);
      sendJson(res, 200, await lineage(deps.log, target, depth, limit));
    },
  });
  router.add({
    method: "GET",
    path: "/correlations/:id",
    access: "consume",
    handler: async ({ res, url, params }) => {
      const query = url.searchParams;
      const after = intParam(query, "after", 0, 0);
      const limit = intParam(
        query,
        "limit",
        Math.min(100, deps.limits.maxReadLimit),
        1,
        deps.limits.maxReadLimit,
      );
      const id = params.id!;
      const page = await deps.log.readLinked("correlationid", id, { after, limit });
      sendJson(res, 200, eventsPage(page.events, page.next));
    },
  });
}

async function findTarget(log: EventLog, query: URLSearchParams): Promise<StoredEvent> {
  const source = query.get("source");
  const id = query.get("id");
  const hasPosition = query.get("position") !== null;
  const byKey = source !== null || id !== null;
  if (hasPosition === byKey) {
    throw new HttpProblem("query-invalid", "name the event by position, or by source and id", {
      errors: [{ field: hasPosition ? "position" : "id", reason: "give position, or source and id" }],
    });
  }
  if (hasPosition) {
    const position = intParam(query, "position", 1, 1);
    const stored = await eventAt(log, position);
    if (stored === undefined) throw new HttpProblem("event-not-found", `no event at position ${position}`);
    return stored;
  }
  if (source === null || source === "" || id === null || id === "") {
    throw new HttpProblem("query-invalid", "source and id go together", {
      errors: [{ field: source === null || source === "" ? "source" : "id", reason: "required" }],
    });
  }
  const stored = await log.findEvent(source, id);
  if (stored === undefined) {
    throw new HttpProblem(
      "event-not-found",
      `no event with source ${JSON.stringify(source)} and id ${JSON.stringify(id)} found (ask by position)`,
    );
  }
  return stored;
}

async function eventAt(log: EventLog, position: number): Promise<StoredEvent | undefined> {
  const page = await log.read({ after: position - 1, limit: 1 });
  const stored = page.events[0];
  return stored?.position === position ? stored : undefined;
}

interface Linked {
  readonly stored: StoredEvent;
  readonly depth: number;
  readonly causedBy?: number;
}

async function lineage(log: EventLog, target: StoredEvent, depth: number, limit: number): Promise<string> {
  const seen = new Set<number>([target.position]);
  const causes: Linked[] = [];
  const missing: { id: string; neededBy: number }[] = [];
  let current = target;
  for (let level = 1; level <= depth; level++) {
    const causationid = stringAttribute(current, "causationid");
    if (causationid === undefined) break;
    const cause = await findCause(log, causationid, current.position);
    if (cause === undefined) {
      missing.push({ id: causationid, neededBy: current.position });
      break;
    }
    if (seen.has(cause.position)) break;
    seen.add(cause.position);
    causes.push({ stored: cause, depth: level });
    current = cause;
  }

  const effects: Linked[] = [];
  let truncated = false;
  let frontier: StoredEvent[] = [target];
  for (let level = 1; level <= depth && frontier.length > 0 && !truncated; level++) {
    const next: StoredEvent[] = [];
    for (const parent of frontier) {
      if (truncated) break;
      let after = parent.position;
      for (;;) {
        const page = await log.readLinked("causationid", parent.event.id, { after, limit: 100 });
        for (const child of page.events) {
          if (seen.has(child.position)) continue;
          if (effects.length >= limit) {
            truncated = true;
            break;
          }
          seen.add(child.position);
          effects.push({ stored: child, depth: level, causedBy: parent.position });
          next.push(child);
        }
        if (truncated || page.next === after) break;
        after = page.next;
      }
    }
    frontier = next;
  }
  // Depth used up: are there effects below the last level?
  if (!truncated && frontier.length > 0) {
    for (const parent of frontier.slice(0, limit)) {
      const page = await log.readLinked("causationid", parent.event.id, { after: parent.position, limit: 1 });
      if (page.events.length > 0) {
        truncated = true;
        break;
      }
    }
  }

  const correlationId = await correlationOf(log, target);
  let correlation = "null";
  if (correlationId !== undefined) {
    const page = await log.readLinked("correlationid", correlationId, { limit });
    const more =
      page.events.length >= limit &&
      (await log.readLinked("correlationid", correlationId, { after: page.next, limit: 1 })).events.length >
        0;
    const events = eventsPage(page.events, page.next);
    // eventsPage answers {"events":[…],"next":N}: splice the id and `more` around it.
    correlation = `{"id":${JSON.stringify(correlationId)},${events.slice(1, -1)},"more":${more}}`;
  }
  return `{"event":${entryJson(target)},"causes":[${causes.map(linkedJson).join(",")}],"effects":[${effects
    .map(linkedJson)
    .join(",")}],"correlation":${correlation},"missing":${JSON.stringify(missing)},"truncated":${truncated}}`;
}

/** The event whose id is `id`, nearest before `before`: the lineage index, then a bounded scan. */
async function findCause(log: EventLog, id: string, before: number): Promise<StoredEvent | undefined> {
  let best: StoredEvent | undefined;
  for (let after = 0; ; ) {
    const page = await log.readLinked("id", id, { after, limit: 100 });
    for (const stored of page.events) if (stored.position < before) best = stored;
    if (page.next === after || page.next >= before) break;
    after = page.next;
  }
  if (best !== undefined) return best;
  // Nearest first: windows growing ×4 backwards from the event (a conversation's root is usually close).
  const needle = JSON.stringify(id);
  const filter = (stored: StoredEvent) => stored.json.includes(needle) && stored.event.id === id;
  let end = before - 1;
  for (let size = 64; end >= 1 && before - 1 - end < CAUSE_SCAN; size *= 4) {
    const from = Math.max(0, end - Math.min(size, CAUSE_SCAN - (before - 1 - end)));
    // The text test first: most events are not it, and decoding them would cost far more.
    const page = await log.read({ after: from, limit: MAX_LIMIT, scanLimit: end - from, filter });
    const found = page.events.filter((stored) => stored.position <= end).at(-1);
    if (found !== undefined) return found;
    end = from;
  }
  return undefined;
}

/** The correlation id of an event: its `correlationid`, else its own id when other events carry it. */
async function correlationOf(log: EventLog, stored: StoredEvent): Promise<string | undefined> {
  const own = stringAttribute(stored, "correlationid");
  if (own !== undefined) return own;
  const users = await log.readLinked("correlationid", stored.event.id, { limit: 1 });
  return users.events.length > 0 ? stored.event.id : undefined;
}

function stringAttribute(stored: StoredEvent, name: string): string | undefined {
  const value = stored.event[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** A GET /events entry with the stored JSON spliced in, plus `extra` members (`,"depth":1`). */
function entryJson(e: StoredEvent, extra = ""): string {
  return `{"position":${e.position},"stream":${JSON.stringify(e.stream)},"version":${e.version},"recordedAt":${e.recordedAt},"event":${e.json}${extra}}`;
}

function linkedJson(linked: Linked): string {
  const causedBy = linked.causedBy === undefined ? "" : `,"causedBy":${linked.causedBy}`;
  return entryJson(linked.stored, `,"depth":${linked.depth}${causedBy}`);
}
