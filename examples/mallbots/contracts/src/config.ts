// Configuration of a MallBots process, from its environment. One reader for every service, so the
// launcher, the tests and a user starting a service by hand set the same variables.
import { join, resolve } from "node:path";
import { DEMO_KEYS, FLOWS, type Flow } from "./names.js";

export interface MallbotsConfig {
  /** herald serve (MALLBOTS_HERALD_URL, default http://127.0.0.1:8080). */
  readonly heraldUrl: string;
  /** Root of the services' databases; each service uses `<dataDir>/<service>` (MALLBOTS_DATA_DIR, ./data/mallbots). */
  readonly dataDir: string;
  /** orchestrated (default) or choreography (MALLBOTS_FLOW). */
  readonly flow: Flow;
  /** Interface of the service's HTTP server (MALLBOTS_HOST, default 127.0.0.1). */
  readonly host: string;
  /** The service's port (MALLBOTS_PORT; 0 = any free port; default: the service's own). */
  readonly port: number | undefined;
  /** Service-to-service API key (MALLBOTS_INTERNAL_KEY). */
  readonly internalKey: string;
  readonly adminKey: string;
  readonly kioskKey: string;
  readonly staffKey: string;
  readonly botKey: string;
  /** The services' base URLs, for the gateway (MALLBOTS_<SERVICE>_URL). */
  readonly urls: Readonly<Record<"stores" | "orders" | "payments" | "depot", string>>;
  /** Orchestrated: the shop step's timeout; choreography: Depot's own deadline (MALLBOTS_BOT_TIMEOUT_MS, 120 s). */
  readonly botTimeoutMs: number;
  /** Payments refuses an authorization above this many cents (MALLBOTS_PAYMENT_LIMIT, 50 000 = 500.00). */
  readonly paymentLimit: number;
}

/** Default ports when MALLBOTS_PORT is not set. */
export const DEFAULT_PORTS = Object.freeze({
  gateway: 3000,
  stores: 3101,
  orders: 3102,
  payments: 3103,
  depot: 3104,
  analytics: 3105,
  /** The saga's process (a small HTTP API: the instance of an order). */
  orchestrator: 3106,
});
export type ServiceName = keyof typeof DEFAULT_PORTS;

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative integer, got ${raw}`);
  return value;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): MallbotsConfig {
  const flow = (env["MALLBOTS_FLOW"] ?? "orchestrated") as Flow;
  if (!FLOWS.includes(flow))
    throw new RangeError(`MALLBOTS_FLOW must be one of ${FLOWS.join(", ")}, got ${flow}`);
  const url = (name: ServiceName) =>
    env[`MALLBOTS_${name.toUpperCase()}_URL`] ?? `http://127.0.0.1:${DEFAULT_PORTS[name]}`;
  return {
    heraldUrl: env["MALLBOTS_HERALD_URL"] ?? "http://127.0.0.1:8080",
    dataDir: resolve(env["MALLBOTS_DATA_DIR"] ?? join("data", "mallbots")),
    flow,
    host: env["MALLBOTS_HOST"] ?? "127.0.0.1",
    port: env["MALLBOTS_PORT"] === undefined ? undefined : integer(env, "MALLBOTS_PORT", 0),
    internalKey: env["MALLBOTS_INTERNAL_KEY"] ?? DEMO_KEYS.internal,
    adminKey: env["MALLBOTS_ADMIN_KEY"] ?? DEMO_KEYS.admin,
    kioskKey: env["MALLBOTS_KIOSK_KEY"] ?? DEMO_KEYS.kiosk,
    staffKey: env["MALLBOTS_STAFF_KEY"] ?? DEMO_KEYS.staff,
    botKey: env["MALLBOTS_BOT_KEY"] ?? DEMO_KEYS.bot,
    urls: { stores: url("stores"), orders: url("orders"), payments: url("payments"), depot: url("depot") },
    botTimeoutMs: integer(env, "MALLBOTS_BOT_TIMEOUT_MS", 120_000),
    paymentLimit: integer(env, "MALLBOTS_PAYMENT_LIMIT", 50_000),
  };
}
