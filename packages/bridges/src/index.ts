// @herald/bridges: `herald serve` to and from the engines. Pass `engineBridges()` to startServer
// (`herald serve` does): subscription sinks that are engine URLs (nats://, amqp[s]://, redis[s]://,
// mqtt[s]://) and the `inbound` sources of the configuration. Each engine's client is loaded on first
// use, so a server that never bridges to NATS never loads it.
import type { BridgeHost, Bridges } from "@herald/server";
import { InboundSource } from "./inbound.js";
import { BridgeMetrics } from "./metrics.js";
import { OutboundBridges } from "./outbound.js";

export { INBOUND_ENGINES } from "./inbound.js";
export type { InboundOutcome } from "./metrics.js";
export { PermanentBridgeError } from "./publishers.js";

/** The bridges of one server; also what tests and embedders await. */
export interface EngineBridges extends Bridges {
  /** Resolves once every inbound source consumes (it never rejects; an engine that is down delays it). */
  readonly inboundReady: Promise<void>;
}

/** The factory `startServer({ bridges })` takes. */
export function engineBridges(): (host: BridgeHost) => EngineBridges {
  return (host) => {
    const metrics = new BridgeMetrics(host.registry);
    const outbound = new OutboundBridges({ metrics, logger: host.logger });
    // Built now: a source the bridges cannot read (an unsupported engine) fails the server's start.
    const sources = host.inbound.map((config) => new InboundSource(config, host, metrics));
    metrics.lagOf(sources);
    const bridges: EngineBridges = {
      inboundReady: Promise.all(sources.map((s) => s.connected)).then(() => undefined),
      publish: (target, event, cancel) => outbound.publish(target, event, cancel),
      start: async () => {
        for (const source of sources) source.start();
      },
      stopInbound: async (drainMs) => {
        await Promise.all(sources.map((s) => s.stop(drainMs)));
      },
      close: () => outbound.close(),
    };
    return bridges;
  };
}
