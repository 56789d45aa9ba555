// Herald subscription sources: the definitions of one subscription run behind one SDK consumer (pull:
// the client's auto/poll/ws/sse consumers) or one Receiver (push). The subscription is ensured at start
// when a definition describes it (push: its sink is the Receiver's URL).
import {
  type Consumer,
  type ConsumerTransport,
  deadLetter,
  deadLetterToStream,
  type Handler,
  type HeraldClient,
  Receiver,
  Router,
} from "@herald/sdk";
import type { AsyncInvalidHook, HeraldDefinition } from "../definition.js";
import type { Outcomes } from "../outcomes.js";
import { asyncHandler } from "./async-handler.js";

export interface HeraldSourceOptions {
  readonly client: HeraldClient;
  readonly outcomes: Outcomes;
  /** Pull consumers' transport (default auto). */
  readonly transport?: ConsumerTransport;
  /** Source-level hook for invalid data (AppOptions.onInvalid.async). */
  readonly onInvalid?: AsyncInvalidHook;
  /** Where push Receivers listen (default 127.0.0.1, a free port each). */
  readonly pushHost?: string;
}

export class HeraldSource {
  readonly #options: HeraldSourceOptions;
  readonly #groups = new Map<string, HeraldDefinition[]>();
  readonly #consumers: Consumer[] = [];
  readonly #receivers = new Map<string, Receiver>();

  constructor(definitions: readonly HeraldDefinition[], options: HeraldSourceOptions) {
    this.#options = options;
    for (const d of definitions) {
      const group = this.#groups.get(d.trigger.subscription) ?? [];
      group.push(d);
      this.#groups.set(d.trigger.subscription, group);
    }
    for (const [subscription, group] of this.#groups) {
      const modes = new Set(group.map((d) => d.mode));
      if (modes.size > 1)
        throw new TypeError(`herald.${subscription}: definitions disagree on mode (pull or push)`);
    }
  }

  /** Push Receivers' URLs by subscription (after start()). */
  receiverUrl(subscription: string): string | undefined {
    return this.#receivers.get(subscription)?.url;
  }

  async start(): Promise<void> {
    const { client, outcomes } = this.#options;
    for (const [subscription, group] of this.#groups) {
      const key = `herald.${subscription}`;
      const handler = withDeadLetterStream(
        client,
        subscription,
        group,
        asyncHandler(key, group, outcomes, this.#options.onInvalid),
      );
      const described = group.find((d) => d.subscription !== undefined)?.subscription;
      if (group[0]!.mode === "push") {
        const receiver = new Receiver({
          handler,
          client,
          host: this.#options.pushHost,
          path: `/herald/${encodeURIComponent(subscription)}`,
          onError: (error, event) =>
            outcomes.log("warn", { key, id: event?.id, error: error.message }, "push failed"),
        });
        await receiver.start();
        this.#receivers.set(subscription, receiver);
        if (described) {
          await client.ensureSubscription(
            { ...described, id: subscription, sink: receiver.url },
            { onDifference: "update" },
          );
        }
      } else {
        if (described)
          await client.ensureSubscription({ ...described, id: subscription }, { onDifference: "update" });
        // Handler failures are logged and counted by the outcome model, not again by the consumer.
        const transport = this.#options.transport ?? "auto";
        const consumer =
          transport === "poll"
            ? client.subscribe(subscription, handler, { transport })
            : transport === "auto"
              ? client.subscribe(subscription, handler, { transport })
              : client.subscribe(subscription, handler, { transport });
        this.#consumers.push(consumer);
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all([
      ...this.#consumers.map((c) => c.stop()),
      ...[...this.#receivers.values()].map((r) => r.stop()),
    ]);
  }
}

/** With a deadLetterStream, non-retryable failures are written there (with the reason) and acked. */
function withDeadLetterStream(
  client: HeraldClient,
  subscription: string,
  group: readonly HeraldDefinition[],
  handler: Handler,
): Handler {
  const stream = group.find((d) => d.deadLetterStream !== undefined)?.deadLetterStream;
  if (stream === undefined) return handler;
  const router = new Router({ defaults: false }).use(
    deadLetter(deadLetterToStream(client, stream, subscription)),
  );
  router.when(() => true, handler);
  return router.handle;
}
