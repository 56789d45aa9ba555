// Handler metrics on a prom-client registry: handled events by type and outcome, handling duration,
// handlers in flight. Metrics are created once per registry and shared by every router using it.
import { Counter, Gauge, Histogram, type Registry, register as defaultRegistry } from "prom-client";
import { isRetryable } from "../errors.js";
import type { Middleware } from "../handler.js";

export interface MetricsOptions {
  /** Default: prom-client's global registry. */
  readonly registry?: Registry;
  /** Metric name prefix (default `herald_sdk_`). */
  readonly prefix?: string;
}

function getOrCreate<M>(registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}

export function metrics(options: MetricsOptions = {}): Middleware {
  const registry = options.registry ?? defaultRegistry;
  const prefix = options.prefix ?? "herald_sdk_";
  const handled = getOrCreate(
    registry,
    `${prefix}handled_total`,
    () =>
      new Counter({
        name: `${prefix}handled_total`,
        help: "Events handled, by type and outcome (ok, retry, reject)",
        labelNames: ["type", "outcome"],
        registers: [registry],
      }),
  );
  const duration = getOrCreate(
    registry,
    `${prefix}handler_duration_seconds`,
    () =>
      new Histogram({
        name: `${prefix}handler_duration_seconds`,
        help: "Time spent in handlers, by type",
        labelNames: ["type"],
        buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
        registers: [registry],
      }),
  );
  const inFlight = getOrCreate(
    registry,
    `${prefix}handlers_in_flight`,
    () =>
      new Gauge({ name: `${prefix}handlers_in_flight`, help: "Handlers running now", registers: [registry] }),
  );
  return async (event, _ctx, next) => {
    const end = duration.startTimer({ type: event.type });
    inFlight.inc();
    try {
      const result = await next();
      handled.inc({ type: event.type, outcome: "ok" });
      return result;
    } catch (error) {
      handled.inc({ type: event.type, outcome: isRetryable(error) ? "retry" : "reject" });
      throw error;
    } finally {
      inFlight.dec();
      end();
    }
  };
}
