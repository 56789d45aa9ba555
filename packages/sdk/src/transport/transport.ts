// The transport contract: what the SDK needs from a message engine (NATS JetStream, Redis Streams,
// `herald serve`, …) so that the Router, middleware, typed events and the inbox run unchanged on any
// of them. Small on purpose (the shape of Watermill's Publisher/Subscriber): publish CloudEvents to a
// topic; subscribe to a topic as a consumer group and settle each message with ack or nack(delay).
// What an engine cannot promise is declared in `capabilities`, and the conformance suite
// (`transportContract` in `@herald/sdk/testing`) skips exactly those tests.
import type { CloudEvent } from "@herald/cloudevents";

/** What an engine promises beyond at-least-once delivery to one member of a group. */
export interface TransportCapabilities {
  /**
   * Per-key ordering, when a subscription asks for it (`ordered: true`): events with the same
   * ordering key (`partitionkey`, see `orderingKey`) reach the group one at a time, in publish
   * order, a nacked one redelivered before any later one of its key.
   */
  readonly keyOrdering: boolean;
  /** A nack's delay is honoured: the message is not redelivered before it has passed. */
  readonly nackDelay: boolean;
  /** After `maxDeliveries` failed deliveries the message moves to the dead letters, with the reason. */
  readonly deadLetter: boolean;
  /** `publish` resolves only once the engine has stored the event (its publish acknowledgement). */
  readonly durablePublish: boolean;
}

/** How events are laid out on the engine's wire: the CloudEvents binding's binary or structured mode. */
export type ContentMode = "binary" | "structured";

export interface TransportSubscribeOptions {
  /** What to consume (a subject, a stream key, a topic: the transport says what it maps to). */
  readonly topic: string;
  /** The consumer group: members with the same group share the topic's messages; other groups each get every one. */
  readonly group: string;
  /** Handlers running at once in this member (default 16). */
  readonly maxInFlight?: number;
  /** A message neither acked nor nacked this long is redelivered (default 30 000 ms). */
  readonly ackTimeoutMs?: number;
  /** After this many failed deliveries the message is dead-lettered (default 10; needs `capabilities.deadLetter`). */
  readonly maxDeliveries?: number;
  /** Ask for per-key ordering (needs `capabilities.keyOrdering`; a transport without it throws). */
  readonly ordered?: boolean;
}

/** One delivery of one event to one member. Settle it once: later calls are ignored. */
export interface TransportMessage {
  readonly event: CloudEvent;
  readonly topic: string;
  /** 1 on the first delivery, n on the n-th (redeliveries after a nack, a timeout or a crash count). */
  readonly deliveryCount: number;
  /** Done: never delivered to this group again. Resolves once the engine has the ack (or it is queued in a flush that close() awaits). */
  ack(): Promise<void>;
  /**
   * Failed: redeliver after `delayMs` (default 0). At `maxDeliveries` the message is dead-lettered
   * instead, carrying `error` as the reason.
   */
  nack(options?: { readonly delayMs?: number; readonly error?: Error }): Promise<void>;
  /**
   * Dead-letters the message now, whatever its delivery count, with `error` as the reason (reason
   * `non-retryable`): for failures no redelivery can heal (invalid data, refused by authorization).
   * Optional: a transport without it is settled with nack() and dead-letters at `maxDeliveries`.
   */
  deadLetter?(error: Error): Promise<void>;
}

/** Called for each delivery; the transport runs up to `maxInFlight` at once. Settle `message` before or when it resolves. */
export type MessageHandler = (message: TransportMessage) => Promise<void>;

export interface TransportSubscription {
  readonly topic: string;
  readonly group: string;
  /** Resolves once closed. */
  readonly closed: Promise<void>;
  /**
   * Stops receiving; running handlers get `drainMs` (default 30 000) to settle; acks are flushed; a
   * message still unsettled then is handed back to the group (redelivered to another member).
   */
  close(options?: { readonly drainMs?: number }): Promise<void>;
}

export interface Transport {
  /** The engine, for logs and the conformance suite ("herald", "nats", "redis", …). */
  readonly name: string;
  readonly capabilities: TransportCapabilities;
  /** Publishes one event; resolves once the engine acknowledged it (see `capabilities.durablePublish`). */
  publish(topic: string, event: CloudEvent): Promise<void>;
  /** Publishes events in order; resolves once all are acknowledged, rejects if any is not. */
  publishBatch(topic: string, events: readonly CloudEvent[]): Promise<void>;
  /** Joins `options.group` on `options.topic`; resolves once the member is receiving. */
  subscribe(options: TransportSubscribeOptions, handler: MessageHandler): Promise<TransportSubscription>;
  /** Closes every subscription (as their close()) and the connection. */
  close(): Promise<void>;
}

/** The ordering key of an event (`partitionkey`, else subject, else source): one rule, declared in @herald/cloudevents. */
export { orderingKey } from "@herald/cloudevents";

/** Thrown when a subscription asks for what the engine cannot do (`ordered` without keyOrdering, …). */
export class TransportCapabilityError extends Error {
  override readonly name = "TransportCapabilityError";
}

export const TRANSPORT_DEFAULTS = Object.freeze({
  maxInFlight: 16,
  ackTimeoutMs: 30_000,
  maxDeliveries: 10,
  drainMs: 30_000,
});
