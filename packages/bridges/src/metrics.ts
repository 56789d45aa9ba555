// Per-bridge Prometheus metrics. Outbound (a subscription whose sink is an engine): attempts by
// outcome; its lag and in-flight are the subscription's own (herald_subscription_lag). Inbound (a
// source of the config file): messages by outcome, and the messages being appended now.
import { Counter, Gauge, type Registry } from "prom-client";

export type InboundOutcome = "ingested" | "duplicate" | "refused" | "failed" | "invalid";

export class BridgeMetrics {
  readonly #outbound: Counter<"subscription" | "engine" | "outcome">;
  readonly #inbound: Counter<"bridge" | "engine" | "outcome">;
  readonly #inFlight: Gauge<"bridge" | "engine">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#outbound = new Counter({
      name: "herald_bridge_outbound_attempts_total",
      help: "Publish attempts to an engine sink, by outcome: ack (engine acknowledged), retry, reject (permanent)",
      labelNames: ["subscription", "engine", "outcome"],
      registers,
    });
    this.#inbound = new Counter({
      name: "herald_bridge_inbound_messages_total",
      help: "Messages taken from an inbound bridge, by outcome: ingested, duplicate, refused (limits, type prefixes), failed (not stored, redelivered), invalid (not a CloudEvent)",
      labelNames: ["bridge", "engine", "outcome"],
      registers,
    });
    this.#inFlight = new Gauge({
      name: "herald_bridge_inbound_in_flight",
      help: "Messages of an inbound bridge being appended to the log (not yet acknowledged to the engine)",
      labelNames: ["bridge", "engine"],
      registers,
    });
  }

  outbound(subscription: string, engine: string, outcome: "ack" | "retry" | "reject"): void {
    this.#outbound.inc({ subscription, engine, outcome });
  }

  inbound(bridge: string, engine: string, outcome: InboundOutcome): void {
    this.#inbound.inc({ bridge, engine, outcome });
  }

  inFlight(bridge: string, engine: string, delta: number): void {
    this.#inFlight.inc({ bridge, engine }, delta);
  }
}
