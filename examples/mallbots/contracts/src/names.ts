// Names every MallBots process agrees on: event sources, subscriptions, the saga, scopes, keys.

/** The CloudEvents `source` of each publisher. */
export const SOURCES = Object.freeze({
  stores: "urn:mallbots:stores",
  orders: "urn:mallbots:orders",
  payments: "urn:mallbots:payments",
  depot: "urn:mallbots:depot",
  /** The orchestrator's commands (the saga's outcome events use the workflows package's own source). */
  saga: "urn:mallbots:order-saga",
  gateway: "urn:mallbots:gateway",
});

/** The saga's name: its instance streams are `workflow.mallbots-order.<orderId>`. */
export const SAGA_NAME = "mallbots-order";

/**
 * Herald subscriptions, one per consumer and purpose. A catalog subscription starts at the beginning
 * of the log, so a service that joins late (or loses its database) rebuilds its copy from history.
 */
export const SUBSCRIPTIONS = Object.freeze({
  ordersCatalog: "mallbots-orders-catalog",
  ordersFlow: "mallbots-orders",
  payments: "mallbots-payments",
  depotCatalog: "mallbots-depot-catalog",
  depotFlow: "mallbots-depot",
  saga: `workflow-${SAGA_NAME}`,
  gateway: "mallbots-gateway",
  analytics: "mallbots-analytics",
});

/** How the order flow runs: commands from the saga, or each service reacting to the previous event. */
export const FLOWS = ["orchestrated", "choreography"] as const;
export type Flow = (typeof FLOWS)[number];

/** Scopes of the API keys (services' and the gateway's HTTP APIs). */
export const SCOPES = Object.freeze({
  /** Service to service (the gateway calling Orders, Stores, Depot, Payments). */
  internal: "mallbots:internal",
  /** Catalog administration (creating stores and products). */
  catalogWrite: "catalog:write",
  /** A kiosk: browse, order, pick up. */
  kiosk: "kiosk",
  /** The staff page: live orders and bots. */
  staff: "staff",
  /** A shopper bot's stream. */
  bot: "bot",
});

/**
 * The demo's keys (override with the env vars of config.ts). Fine for a laptop; a deployment sets its
 * own through the environment.
 */
export const DEMO_KEYS = Object.freeze({
  internal: "mallbots-internal-key",
  admin: "mallbots-admin-key",
  kiosk: "mallbots-kiosk-key",
  staff: "mallbots-staff-key",
  bot: "mallbots-bot-key",
});
