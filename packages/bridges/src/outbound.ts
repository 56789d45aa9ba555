// Outbound bridges: one attempt to deliver a subscription's event to its engine sink. The server's
// delivery window does the rest as for webhooks (retry / backoff / maxDeliveries / dead letters, per-key
// ordering): the engine's acknowledgement = ack; no acknowledgement (refused, timed out, engine down) =
// retry; a PermanentBridgeError (missing exchange, key of another type…) = reject, dead-lettered at once
// with the reason. Connections are pooled per engine connection (one client per scheme, credentials,
// host and port, and content mode; not per delivery) and closed on shutdown.
import type { CloudEvent } from "@herald/cloudevents";
import type { BridgeCancel, EngineSinkOutcome, EngineSinkTarget, EngineUrl, Logger } from "@herald/server";
import type { BridgeMetrics } from "./metrics.js";
import { type ContentMode, type EnginePublisher, openPublisher, PermanentBridgeError } from "./publishers.js";

export class OutboundBridges {
  readonly #pool = new Map<string, Promise<EnginePublisher>>();
  readonly #metrics: BridgeMetrics;
  readonly #logger: Logger;
  #closed = false;

  constructor(options: { metrics: BridgeMetrics; logger: Logger }) {
    this.#metrics = options.metrics;
    this.#logger = options.logger;
  }

  /** One delivery attempt. Never throws. */
  async publish(
    target: EngineSinkTarget,
    event: CloudEvent,
    cancel: BridgeCancel,
  ): Promise<EngineSinkOutcome> {
    const url = target.sink;
    if (this.#closed || cancel.aborted)
      return { kind: "retry", error: "bridge closed: the server is stopping" };
    let timer: NodeJS.Timeout | undefined;
    try {
      const aborted = new Promise<never>((_, reject) =>
        cancel.onAbort(() => reject(new Error("publish aborted: the subscription stopped"))),
      );
      // timeoutMs bounds the whole attempt, connecting included (a connection still opening when it
      // ends is pooled for the next attempt).
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`not connected and acknowledged within ${target.timeoutMs} ms`)),
          target.timeoutMs,
        );
      });
      const attempt = (async () => {
        const publisher = await this.#publisher(url, target.contentMode);
        await publisher.publish(url, event, target.timeoutMs);
      })();
      await Promise.race([attempt, aborted, timeout]);
      clearTimeout(timer);
      cancel.clear();
      return this.#outcome(target, { kind: "ack" });
    } catch (error) {
      clearTimeout(timer);
      cancel.clear();
      const message = `${url.engine} ${url.display}: ${(error as Error).message}`;
      return this.#outcome(
        target,
        error instanceof PermanentBridgeError
          ? { kind: "reject", error: message }
          : { kind: "retry", error: message },
      );
    }
  }

  /** Closes every pooled connection. */
  async close(): Promise<void> {
    this.#closed = true;
    const publishers = [...this.#pool.values()];
    this.#pool.clear();
    await Promise.all(
      publishers.map(async (opening) => {
        try {
          // A client whose engine is down may wait for it to close politely: never hold up shutdown.
          await boundedBy(CLOSE_TIMEOUT_MS, (async () => (await opening).close())());
        } catch {
          // It never opened, or is already gone.
        }
      }),
    );
  }

  async #publisher(url: EngineUrl, mode: ContentMode): Promise<EnginePublisher> {
    const key = `${mode} ${url.connection}`;
    let opening = this.#pool.get(key);
    if (opening !== undefined) {
      const publisher = await opening.catch(() => undefined);
      if (publisher !== undefined && !publisher.broken) return publisher;
      if (this.#pool.get(key) === opening) this.#pool.delete(key);
      if (publisher !== undefined) void publisher.close().catch(() => undefined);
      opening = undefined;
    }
    opening = openPublisher(url, mode);
    this.#pool.set(key, opening);
    try {
      const publisher = await opening;
      this.#logger.debug({ engine: url.engine, connection: url.display }, "bridge connection opened");
      if (this.#closed) void publisher.close();
      return publisher;
    } catch (error) {
      // Not pooled: the next attempt tries to connect again.
      if (this.#pool.get(key) === opening) this.#pool.delete(key);
      throw error;
    }
  }

  #outcome(target: EngineSinkTarget, outcome: EngineSinkOutcome): EngineSinkOutcome {
    this.#metrics.outbound(target.subscriptionId, target.sink.engine, outcome.kind);
    return outcome;
  }
}

/** How long closing one engine connection may take on shutdown. */
const CLOSE_TIMEOUT_MS = 2_000;

/** Resolves when `work` settles or after `ms`, whichever is first. */
export async function boundedBy(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
