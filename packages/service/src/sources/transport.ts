// Transport sources: the definitions of one trigger key (`nats.orders.billing`, `rabbitmq.orders`…) run
// behind one SDK transport consumer (consumeTransport) as one member of the key's group, with the
// asynchronous outcome model of ./async-handler.ts. Non-retryable failures are dead-lettered at once
// into the transport's own dead letters (`herald.deadletter` events with the reason), not retried.
import type { Transport, TransportConsumer } from "@herald/sdk";
import { consumeTransport } from "@herald/sdk";
import type { AsyncInvalidHook, TransportDefinition } from "../definition.js";
import type { Outcomes } from "../outcomes.js";
import type { TransportEngine } from "../trigger.js";
import { asyncHandler } from "./async-handler.js";

/** The Transport of each engine the app's transport sources use. */
export type AppTransports = Readonly<Partial<Record<TransportEngine, Transport>>>;

export interface TransportSourceOptions {
  readonly transports: AppTransports;
  readonly outcomes: Outcomes;
  /** Source-level hook for invalid data (AppOptions.onInvalid.async). */
  readonly onInvalid?: AsyncInvalidHook;
}

export class TransportSource {
  readonly #options: TransportSourceOptions;
  readonly #groups = new Map<string, TransportDefinition[]>();
  readonly #consumers: TransportConsumer[] = [];

  constructor(definitions: readonly TransportDefinition[], options: TransportSourceOptions) {
    this.#options = options;
    for (const d of definitions) {
      if (options.transports[d.trigger.engine] === undefined)
        throw new TypeError(
          `${d.key} needs a ${d.trigger.engine} transport (AppOptions.transports.${d.trigger.engine})`,
        );
      const group = this.#groups.get(d.key) ?? [];
      group.push(d);
      this.#groups.set(d.key, group);
    }
  }

  /** Joins each key's group; resolves once every member is receiving. */
  async start(): Promise<void> {
    const { outcomes, transports } = this.#options;
    for (const [key, group] of this.#groups) {
      const { engine, topic, group: consumerGroup } = group[0]!.trigger;
      const first = <K extends "maxInFlight" | "maxDeliveries" | "emitTo">(name: K) =>
        group.find((d) => d[name] !== undefined)?.[name];
      const maxInFlight = first("maxInFlight");
      const maxDeliveries = first("maxDeliveries");
      const emitTo = first("emitTo");
      const consumer = await consumeTransport(
        transports[engine]!,
        asyncHandler(key, group, outcomes, this.#options.onInvalid),
        {
          topic,
          group: consumerGroup,
          deadLetterNonRetryable: true,
          ...(maxInFlight === undefined ? {} : { maxInFlight }),
          ...(maxDeliveries === undefined ? {} : { maxDeliveries }),
          ...(emitTo === undefined ? {} : { emitTo }),
          // Failures are counted and logged by the outcome model already.
          onError: () => undefined,
        },
      );
      this.#consumers.push(consumer);
    }
  }

  /** Running handlers finish; unsettled messages go back to the group. The transports stay open (the caller's). */
  async stop(): Promise<void> {
    await Promise.all(this.#consumers.map((c) => c.stop()));
  }
}
