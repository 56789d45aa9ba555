// HTTP surface of scheduled delivery: list the pending events, cancel one before it fires.
// Scheduling itself is ingest (an event with a future `deliverat`, http/ingest.ts).
import type { EventLog } from "@herald/log";
import type { ListScheduledResponse, ScheduledEntry } from "@herald/protocol";
import { HttpProblem, sendJson } from "../http/problem.js";
import { intParam } from "../http/reads.js";
import type { Router } from "../http/router.js";

export interface ScheduledRouteDeps {
  readonly log: EventLog;
  readonly limits: { readonly maxReadLimit: number };
}

export function registerScheduledRoutes(router: Router, deps: ScheduledRouteDeps): void {
  router.add({
    method: "GET",
    path: "/scheduled",
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
      const page = await deps.log.scheduled.list({ after, limit });
      // Pending events are few and small next to read pages: built as objects, not spliced JSON.
      const scheduled: ScheduledEntry[] = page.entries.map((entry) => ({
        seq: entry.seq,
        source: entry.source,
        id: entry.id,
        stream: entry.stream,
        deliverAt: new Date(entry.deliverAt).toISOString(),
        event: JSON.parse(entry.json) as ScheduledEntry["event"],
      }));
      sendJson(res, 200, { scheduled, next: page.next } satisfies ListScheduledResponse);
    },
  });

  router.add({
    method: "DELETE",
    path: "/scheduled",
    access: "publish",
    handler: async ({ res, url }) => {
      const source = url.searchParams.get("source") ?? "";
      const id = url.searchParams.get("id") ?? "";
      const missing = [
        ...(source === "" ? [{ field: "source", reason: "required" }] : []),
        ...(id === "" ? [{ field: "id", reason: "required" }] : []),
      ];
      if (missing.length > 0)
        throw new HttpProblem("query-invalid", "DELETE /scheduled needs the source and id of the event", {
          errors: missing,
        });
      const outcome = await deps.log.scheduled.cancel(source, id);
      if (outcome === "unknown")
        throw new HttpProblem(
          "scheduled-not-found",
          `no scheduled event has source ${JSON.stringify(source)} and id ${JSON.stringify(id)}`,
        );
      if (outcome === "released")
        throw new HttpProblem(
          "scheduled-already-released",
          `the event with source ${JSON.stringify(source)} and id ${JSON.stringify(id)} is already in the log`,
        );
      res.writeHead(204);
      res.end();
    },
  });
}
