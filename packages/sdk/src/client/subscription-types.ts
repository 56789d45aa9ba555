// The subscription and pull shapes as the client sends and reads them: the wire types of
// @herald/protocol, plus the one place the SDK differs (pulled events arrive decoded as CloudEvents).
import type { CloudEvent } from "@herald/cloudevents";
import {
  type CreateSubscriptionRequest,
  SUBSCRIPTION_CONFIG_DEFAULTS,
  type SubscriptionConfig,
  type SubscriptionResource,
  type PulledMessage as WirePulledMessage,
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
  readonly retention?: "stream" | "queue";
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
  if (config.retention !== undefined) out.retention = config.retention;
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

/** What `ensureSubscription` does when the subscription exists and differs from the one asked for. */
export type OnSubscriptionDifference = "error" | "update" | "keep";

const COMPARED_SETTINGS = [
  "ordering",
  "contentMode",
  "retention",
  "maxInFlight",
  "ackTimeoutMs",
  "maxDeliveries",
  "timeoutMs",
  "backoffBaseMs",
  "backoffCapMs",
] as const;

/**
 * The members in which an existing subscription differs from `init`: `sink`, `source`, `types`,
 * `filters`, `protocol`, `protocolsettings` and each delivery setting (an absent one counts as the
 * server's default). `config.start` (applied on create only) and secrets (answered redacted) are
 * not compared.
 */
export function subscriptionDifferences(init: SubscriptionInit, existing: Subscription): string[] {
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (init.sink !== existing.sink) out.push("sink");
  if (init.source !== existing.source) out.push("source");
  const types = (t: readonly string[] | undefined) => [...new Set(t ?? [])].sort();
  if (!same(types(init.types), types(existing.types))) out.push("types");
  if (!same(init.filters ?? [], existing.filters ?? [])) out.push("filters");
  if ((init.protocol ?? "HTTP") !== (existing.protocol ?? "HTTP")) out.push("protocol");
  if (!same(init.protocolsettings ?? {}, existing.protocolsettings ?? {})) out.push("protocolsettings");
  const wanted = deliverySettings(init.config);
  const current = deliverySettings(existing.config);
  for (const name of COMPARED_SETTINGS) {
    const a = wanted[name] ?? SUBSCRIPTION_CONFIG_DEFAULTS[name];
    const b = current[name] ?? SUBSCRIPTION_CONFIG_DEFAULTS[name];
    if (a !== b) out.push(`config.${name}`);
  }
  return out;
}
