// Per-subscription Prometheus metrics, registered on the server's registry.
// Lag and in-flight are gauges computed on scrape from the live dispatchers.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface GaugeSource {
  /** Current figures per subscription id. */
  snapshot(): Promise<
    ReadonlyArray<{ readonly id: string; readonly lag: number; readonly inFlight: number }>
  >;
}

export class SubscriptionMetrics {
  readonly delivered: Counter<"subscription">;
  readonly retried: Counter<"subscription">;
  readonly deadLettered: Counter<"subscription">;
  readonly latency: Histogram<"subscription">;

  constructor(registry: Registry, source: GaugeSource) {
    const registers = [registry];
    this.delivered = new Counter({
      name: "herald_subscription_delivered_total",
      help: "Events acknowledged by the subscription's consumers or sink",
      labelNames: ["subscription"],
      registers,
    });
    this.retried = new Counter({
      name: "herald_subscription_retried_total",
      help: "Delivery attempts after the first one (redeliveries)",
      labelNames: ["subscription"],
      registers,
    });
    this.deadLettered = new Counter({
      name: "herald_subscription_dead_lettered_total",
      help: "Events moved to the subscription's dead-letter stream",
      labelNames: ["subscription"],
      registers,
    });
    this.latency = new Histogram({
      name: "herald_subscription_delivery_latency_seconds",
      help: "Time from the event's commit in the log to its acknowledgement",
      labelNames: ["subscription"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    new Gauge({
      name: "herald_subscription_lag",
      help: "Events matching the subscription's filter that are not yet acknowledged",
      labelNames: ["subscription"],
      registers,
      async collect() {
        this.reset();
        for (const row of await source.snapshot()) this.set({ subscription: row.id }, row.lag);
      },
    });
    new Gauge({
      name: "herald_subscription_in_flight",
      help: "Events delivered and awaiting acknowledgement",
      labelNames: ["subscription"],
      registers,
      async collect() {
        this.reset();
        for (const row of await source.snapshot()) this.set({ subscription: row.id }, row.inFlight);
      },
    });
  }

  /** Drops the series of a deleted subscription. */
  forget(id: string): void {
    for (const metric of [this.delivered, this.retried, this.deadLettered, this.latency]) {
      metric.remove({ subscription: id });
    }
  }
}
