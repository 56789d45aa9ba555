// GET /stats/series: the console's health charts (ingest and delivery rates and latency over the last
// minutes, observability/series.ts) and what the server is (version, storage, node, head).
import type { EventLog } from "@herald/log";
import type { StatsSeriesResponse } from "@herald/protocol";
import { type HealthSeries, SERIES_INTERVAL_MS, SERIES_MINUTES } from "../observability/series.js";
import { sendJson } from "./problem.js";
import { intParam } from "./reads.js";
import type { Router } from "./router.js";

export interface StatsDeps {
  readonly log: EventLog;
  readonly series: HealthSeries;
  readonly version: string;
  readonly storage: string;
  readonly nodeId: string;
  /** ms since the epoch. */
  readonly startedAt: number;
}

export function registerStatsRoutes(router: Router, deps: StatsDeps): void {
  router.add({
    method: "GET",
    path: "/stats/series",
    access: "consume",
    handler: async ({ res, url }) => {
      const minutes = intParam(url.searchParams, "minutes", 15, 1, SERIES_MINUTES);
      const answer: StatsSeriesResponse = {
        server: {
          version: deps.version,
          storage: deps.storage,
          nodeId: deps.nodeId,
          startedAt: new Date(deps.startedAt).toISOString(),
          head: await deps.log.headPosition(),
        },
        intervalMs: SERIES_INTERVAL_MS,
        points: deps.series.points(minutes),
      };
      sendJson(res, 200, answer);
    },
  });
}
