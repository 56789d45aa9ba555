// Per-bridge Prometheus metrics. Outbound (a subscription whose sink is an engine): attempts by
// outcome; its lag and in-flight are the subscription's own (herald_subscription_lag). Inbound (a
// source of the config file): messages by outcome, the messages being appended now, and the lag the
// engine reports for the group (read on scrape).
import { Counter, Gauge, type Registry } from "prom-client";

/** What the lag gauge reads on scrape: each inbound source's name, engine and lag (undefined: unknown now). */
export interface InboundLagSource {
  readonly name: string;
  readonly engine: string;
  lag(): Promise<number | undefined>;
}

/** A scrape does not wait longer than this for an engine's answer. */
const LAG_TIMEOUT_MS = 1_000;

export type InboundOutcome = "ingested" | "duplicate" | "refused" | "failed" | "invalid";

export class BridgeMetrics {
  readonly #outbound: Counter<"subscription" | "engine" | "outcome">;
  readonly #inbound: Counter<"bridge" | "engine" | "outcome">;
  readonly #inFlight: Gauge<"bridge" | "engine">;

  #lagSources: readonly InboundLagSource[] = [];

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
    const sources = () => this.#lagSources;
    new Gauge({
      name: "herald_bridge_inbound_lag",
      help: "Messages the engine holds for an inbound bridge's group that Herald has not acknowledged yet",
      labelNames: ["bridge", "engine"],
      registers,
      async collect() {
        this.reset();
        await Promise.all(
          sources().map(async (source) => {
            const lag = await withTimeout(source.lag(), LAG_TIMEOUT_MS).catch(() => undefined);
            if (lag !== undefined) this.set({ bridge: source.name, engine: source.engine }, lag);
          }),
        );
      },
    });
  }

  /** The inbound sources whose lag the gauge reads. */
  lagOf(sources: readonly InboundLagSource[]): void {
    this.#lagSources = sources;
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

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
