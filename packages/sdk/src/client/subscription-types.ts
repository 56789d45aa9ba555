// The broker's subscription resource and pull message shapes, as the client sends and reads them.
import type { CloudEvent } from "@herald/cloudevents";

/** A filter in the Subscriptions API dialects. */
export type SubscriptionFilter =
  | { readonly exact: Readonly<Record<string, string>> }
  | { readonly prefix: Readonly<Record<string, string>> }
  | { readonly suffix: Readonly<Record<string, string>> }
  | { readonly all: readonly SubscriptionFilter[] }
  | { readonly any: readonly SubscriptionFilter[] }
  | { readonly not: SubscriptionFilter }
  | { readonly sql: string };

export interface SubscriptionInit {
  /** Name of the consumer group; consumers subscribe by it. */
  readonly id?: string;
  readonly types?: readonly string[];
  readonly filters?: readonly SubscriptionFilter[];
  /** Push delivery URL (e.g. a Receiver's url); without it consumers pull. */
  readonly sink?: string;
  /** Delivery settings (packages/server/docs/subscriptions.md). */
  readonly config?: SubscriptionConfig;
}

/**
 * The broker's subscription settings; values may also be given as numeric strings. The broker
 * answers every value as a string (the Subscriptions API's config is a map of strings): integers in
 * decimal, `backoff` as `backoffBaseMs`/`backoffCapMs`, `start` as `position:N` / `time:<RFC 3339>`.
 */
export interface SubscriptionConfig {
  /** Where a new subscription starts (default "beginning"); applied on create only. */
  readonly start?: "beginning" | "now" | { readonly position: number } | { readonly time: string };
  /** "key" (default): one unacked event per stream at a time; "none": any order. */
  readonly ordering?: "key" | "none";
  /** Delivered-but-unacked events of the subscription, all consumers together (default 64). */
  readonly maxInFlight?: number;
  /** Pull lease: unacked past it, an event is redelivered (default 30 000). */
  readonly ackTimeoutMs?: number;
  /** Attempts before the event goes to the dead-letter stream (default 10). */
  readonly maxDeliveries?: number;
  /** Broker-side retry delay: min(cap, base·2^(n-1)) with full jitter. */
  readonly backoff?: { readonly baseMs?: number; readonly capMs?: number };
  /** Push: time the sink has to answer. */
  readonly timeoutMs?: number;
  /** Push: content mode (default binary). */
  readonly contentMode?: "binary" | "structured";
  /** Push: Standard Webhooks signing secret (`whsec_<base64>` or any string). */
  readonly secret?: string;
  readonly [setting: string]: unknown;
}

export interface Subscription extends SubscriptionInit {
  readonly id: string;
  readonly [member: string]: unknown;
}

export interface PulledMessage {
  readonly ackId: string;
  readonly deliveryCount: number;
  readonly position: number;
  readonly stream: string;
  readonly event: CloudEvent;
}
