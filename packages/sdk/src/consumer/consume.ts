// One entry for every way of consuming a subscription: "auto" (the default: WebSocket, long-poll when
// the broker has no WebSocket endpoint), long-poll ("poll"), Server-Sent Events ("sse") or WebSocket
// ("ws"). All run the same handler with the same ack/nack semantics, stats and stop({ drainMs }).
import type { HeraldClient } from "../client/client.js";
import type { Handler } from "../handler.js";
import { AutoConsumer, type AutoSubscribeOptions } from "./auto-consumer.js";
import { type ConsumerStats, PullConsumer, type SubscribeOptions } from "./pull-consumer.js";
import { SseConsumer } from "./sse-consumer.js";
import type { StreamEndpoint, StreamSubscribeOptions } from "./stream-consumer.js";
import { WsConsumer } from "./ws-consumer.js";

export type ConsumerTransport = "auto" | "poll" | "sse" | "ws";

export type AutoConsumeOptions = AutoSubscribeOptions & { readonly transport?: "auto" };
export type PollConsumeOptions = SubscribeOptions & { readonly transport: "poll" };
export type StreamConsumeOptions = StreamSubscribeOptions & { readonly transport: "sse" | "ws" };
export type ConsumeOptions = AutoConsumeOptions | PollConsumeOptions | StreamConsumeOptions;

/** What every consumer offers, whatever its transport. */
export interface Consumer {
  readonly subscription: string;
  /** Resolves once the consumer has stopped. */
  readonly stopped: Promise<void>;
  readonly stats: ConsumerStats;
  /** Why the consumer ended on its own (a ConsumerRejectedError: 401, 403, 404, …), if it did. */
  readonly error: Error | undefined;
  /** Resolves when the consumer stopped; rejects with the refusal when the broker refused it. */
  done(): Promise<void>;
  start(): void;
  /** Graceful: running handlers finish (ctx.signal aborts after drainMs), acks are flushed. */
  stop(options?: { drainMs?: number }): Promise<void>;
}

/** Builds (does not start) the consumer of `options.transport` (default "auto"). */
export function createConsumer(
  client: HeraldClient,
  endpoint: StreamEndpoint,
  subscription: string,
  handler: Handler,
  options: ConsumeOptions = {},
): AutoConsumer | PullConsumer | SseConsumer | WsConsumer {
  // Switched on options.transport itself so that each branch gets its own options type.
  if (options.transport === "sse") return new SseConsumer(client, endpoint, subscription, handler, options);
  if (options.transport === "ws") return new WsConsumer(client, endpoint, subscription, handler, options);
  if (options.transport === "poll") return new PullConsumer(client, subscription, handler, options);
  if (options.transport === undefined || options.transport === "auto") {
    return new AutoConsumer(client, endpoint, subscription, handler, options);
  }
  throw new TypeError(
    `transport must be "auto", "poll", "sse" or "ws", got ${JSON.stringify((options as { transport: unknown }).transport)}`,
  );
}
