// The server's own Prometheus metrics (the subscription manager registers its delivery metrics on
// the same registry). Hot-path counters are bound to their labels once, up front.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { EventLog } from "@herald/log";
import type { HealthSeries } from "./series.js";

export interface ServerMetrics {
  readonly registry: Registry;
  /** Events accepted by ingest: stored (new) or duplicate (already in the log). */
  recordIngest(stored: number, duplicates: number): void;
  /** Ingest requests refused, by HTTP status. */
  recordRejected(status: number): void;
  /** Seconds one `log.append` call took (group commit included). */
  observeAppend(seconds: number): void;
  /** One finished HTTP request. */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
}

/** `series`: also feeds the console's health series (GET /stats/series) with ingest counts and latency. */
export function createServerMetrics(
  log: EventLog,
  registry = new Registry(),
  series?: HealthSeries,
): ServerMetrics {
  collectDefaultMetrics({ register: registry, prefix: "herald_" });
  const ingested = new Counter({
    name: "herald_ingest_events_total",
    help: "Events accepted by ingest (POST /events, POST /streams/{stream}), by outcome.",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const stored = ingested.labels("stored");
  const duplicate = ingested.labels("duplicate");
  const rejected = new Counter({
    name: "herald_ingest_rejected_requests_total",
    help: "Ingest requests refused, by HTTP status.",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  const appendSeconds = new Histogram({
    name: "herald_append_duration_seconds",
    help: "Latency of one log append (durable, group commit included).",
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const requests = new Histogram({
    name: "herald_http_request_duration_seconds",
    help: "HTTP requests by method, route and status.",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const requestChildren = new Map<string, ReturnType<typeof requests.labels>>();
  new Gauge({
    name: "herald_log_head_position",
    help: "Position of the newest committed event.",
    registers: [registry],
    async collect() {
      try {
        this.set(await log.headPosition());
      } catch {
        // A closed log has no head; leave the last value.
      }
    },
  });
  return {
    registry,
    recordIngest(storedCount, duplicates) {
      if (storedCount > 0) stored.inc(storedCount);
      series?.ingested(storedCount);
      if (duplicates > 0) duplicate.inc(duplicates);
    },
    recordRejected(status) {
      rejected.labels(String(status)).inc();
    },
    observeAppend(seconds) {
      appendSeconds.observe(seconds);
      series?.appendLatency(seconds * 1000);
    },
    observeRequest(method, route, status, seconds) {
      // Bound children are cached: labels() hashes its arguments on every call.
      const key = `${method} ${route} ${status}`;
      let child = requestChildren.get(key);
      if (child === undefined) {
        child = requests.labels(method, route, String(status));
        requestChildren.set(key, child);
      }
      child.observe(seconds);
    },
  };
}
