// The seam between `herald serve` and the engine bridges (@herald/bridges). The server owns what is
// the broker's: engine URLs in subscriptions and the config file are validated here (engine-url.ts),
// the delivery window retries and dead-letters, and ingest applies the limits and type prefixes. The
// bridges own the engine clients (they depend on the transports, which depend on the SDK, whose tests
// depend on this server: the server cannot import them). A server started without bridges refuses
// engine sinks and inbound sources.
import type { CloudEvent } from "@herald/cloudevents";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { InboundSourceConfig } from "../settings.js";
import type { EngineUrl } from "./engine-url.js";

/** One delivery of a subscription to its engine sink. */
export interface EngineSinkTarget {
  readonly subscriptionId: string;
  readonly sink: EngineUrl;
  readonly contentMode: "binary" | "structured";
  /** The subscription's per-attempt timeout. */
  readonly timeoutMs: number;
}

/**
 * How an attempt ended: `ack` = the engine acknowledged it; `retry` = refused, not acknowledged in
 * time, or the engine is unreachable (the backoff applies); `reject` = retrying cannot help (a missing
 * exchange, a key of another type…): dead-lettered at once with `error` as the reason.
 */
export type EngineSinkOutcome =
  | { readonly kind: "ack" }
  | { readonly kind: "retry"; readonly error: string }
  | { readonly kind: "reject"; readonly error: string };

/** Aborts an attempt when the subscription stops (its drain time is over). */
export interface BridgeCancel {
  readonly aborted: boolean;
  /** Runs the listener on abort (at once when already aborted); the last one set wins. */
  onAbort(listener: () => void): void;
  /** The attempt settled. */
  clear(): void;
}

/** One ingested event's answer, as POST /events gives it. */
export interface IngestedEvent {
  readonly position: number;
  readonly stream: string;
  readonly duplicate: boolean;
}

/** What the server hands the bridges. */
export interface BridgeHost {
  readonly logger: Logger;
  /** Register the bridges' metrics here (served at /metrics). */
  readonly registry: Registry;
  /** The inbound sources of the configuration, validated. */
  readonly inbound: readonly InboundSourceConfig[];
  /**
   * Appends events as POST /events does (batch and attribute limits, system streams, the type
   * prefixes given, dedupe by source+id); resolves once they are durable. A refusal throws an
   * HttpProblem (its `status` < 500): the events will never be accepted as they are; anything else
   * (storage, shutting down) may succeed later.
   */
  ingest(
    events: readonly CloudEvent[],
    rules: { typePrefixes?: readonly string[] },
  ): Promise<readonly IngestedEvent[]>;
}

export interface Bridges {
  /** One attempt to deliver to an engine sink. Never throws. */
  publish(target: EngineSinkTarget, event: CloudEvent, cancel: BridgeCancel): Promise<EngineSinkOutcome>;
  /** Starts the inbound sources (an engine that is down is retried in the background). */
  start(): Promise<void>;
  /** Stops taking inbound messages: waits up to drainMs for appends, hands back the rest. */
  stopInbound(drainMs: number): Promise<void>;
  /** Closes every engine connection (after stopInbound and after the subscriptions stopped). */
  close(): Promise<void>;
}

/** Builds the bridges of one server (`startServer({ bridges })`; `herald serve` passes @herald/bridges'). */
export type BridgeFactory = (host: BridgeHost) => Bridges;
