// The subscription and pull shapes as the client sends and reads them: the wire types of
// @herald/protocol, plus the one place the SDK differs (pulled events arrive decoded as CloudEvents).
import type { CloudEvent } from "@herald/cloudevents";
import type {
  CreateSubscriptionRequest,
  SubscriptionConfig,
  SubscriptionResource,
  PulledMessage as WirePulledMessage,
} from "@herald/protocol";

/** What `createSubscription` takes (`POST /subscriptions`); without `id` the server assigns one. */
export type SubscriptionInit = CreateSubscriptionRequest;

/**
 * A subscription as the server shows it. Its `config` values may come back as strings
 * ("maxInFlight": "64", the Subscriptions API schema): read them with `deliverySettings`.
 */
export type Subscription = SubscriptionResource;

/** One pulled message; `event` is decoded (the wire carries it in the JSON event format). */
export type PulledMessage = Omit<WirePulledMessage, "event"> & { readonly event: CloudEvent };

/** A subscription's delivery settings with their numbers as numbers (absent when not set). */
export interface DeliverySettings {
  readonly ordering?: "key" | "none";
  readonly contentMode?: "binary" | "structured";
  readonly maxInFlight?: number;
  readonly ackTimeoutMs?: number;
  readonly maxDeliveries?: number;
  readonly timeoutMs?: number;
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
}

const INTEGER_SETTINGS = ["maxInFlight", "ackTimeoutMs", "maxDeliveries", "timeoutMs"] as const;

/**
 * Reads a subscription's `config` whatever the spelling: numbers or strings of digits, `backoff.baseMs`
 * or `backoffBaseMs`. Throws TypeError naming the setting when a value is not an integer.
 */
export function deliverySettings(config: SubscriptionConfig | undefined): DeliverySettings {
  if (config === undefined) return {};
  const out: { -readonly [K in keyof DeliverySettings]: DeliverySettings[K] } = {};
  if (config.ordering !== undefined) out.ordering = config.ordering;
  if (config.contentMode !== undefined) out.contentMode = config.contentMode;
  for (const name of INTEGER_SETTINGS) {
    const value = integerSetting(name, config[name]);
    if (value !== undefined) out[name] = value;
  }
  const base = integerSetting("backoffBaseMs", config.backoffBaseMs ?? config.backoff?.baseMs);
  const cap = integerSetting("backoffCapMs", config.backoffCapMs ?? config.backoff?.capMs);
  if (base !== undefined) out.backoffBaseMs = base;
  if (cap !== undefined) out.backoffCapMs = cap;
  return out;
}

function integerSetting(name: string, value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = typeof value === "number" ? value : /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed))
    throw new TypeError(`config.${name} is not an integer: ${String(value)}`);
  return parsed;
}
