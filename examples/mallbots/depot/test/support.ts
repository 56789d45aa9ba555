// Test helpers: a real herald serve, Depot's config, the demo catalog as Stores would publish it,
// reading the log back, calling Depot's API, and waiting on conditions (no fixed sleeps).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CloudEvent } from "@herald/cloudevents";
import type { HeraldClient } from "@herald/sdk";
import { type HeraldServer, startServer } from "@herald/server";
import {
  DEMO_KEYS,
  DEMO_PRODUCTS,
  DEMO_STORES,
  type Flow,
  type MallbotsConfig,
  type OrderItem,
  ProductAdded,
  readConfig,
  StoreCreated,
} from "@mallbots/contracts";

export function startHerald(): Promise<HeraldServer> {
  return startServer({ memory: true, port: 0, logLevel: "silent" });
}

export function tempDir(): { readonly path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), "mallbots-depot-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The environment a launcher gives Depot (also for a spawned main.js). */
export function depotEnv(heraldUrl: string, dataDir: string, flow: Flow, extra: Record<string, string> = {}) {
  return {
    MALLBOTS_HERALD_URL: heraldUrl,
    MALLBOTS_DATA_DIR: dataDir,
    MALLBOTS_FLOW: flow,
    MALLBOTS_PORT: "0",
    ...extra,
  };
}

export function depotConfig(
  heraldUrl: string,
  dataDir: string,
  flow: Flow,
  extra: Record<string, string> = {},
) {
  return readConfig(depotEnv(heraldUrl, dataDir, flow, extra));
}

/** The demo mall's catalog events, as Stores publishes them (subject = the store). */
export async function publishCatalog(client: HeraldClient): Promise<void> {
  const events = [
    ...DEMO_STORES.map((store) =>
      StoreCreated.create({ id: `test-${store.storeId}`, subject: store.storeId, data: store }),
    ),
    ...DEMO_PRODUCTS.map((product) =>
      ProductAdded.create({ id: `test-${product.productId}`, subject: product.storeId, data: product }),
    ),
  ];
  const result = await client.sendBatch(events);
  if (!result.ok) throw new Error(`catalog not published: ${JSON.stringify(result)}`);
}

/** An order's items from the demo catalog: productId → quantity. */
export function items(quantities: Record<string, number>): OrderItem[] {
  return Object.entries(quantities).map(([productId, quantity]) => {
    const product = DEMO_PRODUCTS.find((p) => p.productId === productId);
    if (product === undefined) throw new Error(`no demo product ${productId}`);
    return { productId, storeId: product.storeId, name: product.name, price: product.price, quantity };
  });
}

export async function send(client: HeraldClient, ...events: CloudEvent[]): Promise<void> {
  for (const event of events) {
    const result = await client.send(event);
    if (!result.ok) throw new Error(`not published: ${JSON.stringify(result)}`);
  }
}

export interface LoggedEvent {
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly subject?: string;
  readonly data?: unknown;
  readonly [attribute: string]: unknown;
}

/** Every event in the log (optionally of one type), in log order. */
export async function logEvents(client: HeraldClient, type?: string): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = [];
  for await (const entry of client.events({ pageSize: 1000 })) {
    const event = entry.event as LoggedEvent;
    if (type === undefined || event.type === type) out.push(event);
  }
  return out;
}

/** Polls `probe` until it answers something other than undefined (or false), or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last !== undefined ? `: ${String(last)}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits until the subscription has handled everything it matched (nothing lags, nothing in flight). */
export async function settled(client: HeraldClient, subscription: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `${subscription} to settle`,
    async () => {
      const stats = await client.subscriptionStats(subscription);
      return stats.lag === 0 && stats.inFlight === 0;
    },
    timeoutMs,
  );
}

export interface Answer<T = unknown> {
  readonly status: number;
  readonly body: T;
}

/** Calls Depot's API with the internal key. */
export function depotApi(baseUrl: () => string, key: string = DEMO_KEYS.internal) {
  const call = async <T = unknown>(method: string, path: string, body?: unknown): Promise<Answer<T>> => {
    const response = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: { "x-api-key": key, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: (text === "" ? undefined : JSON.parse(text)) as T };
  };
  return {
    call,
    ready: (botId: string) => call<{ botId: string; task?: BotTaskBody }>("POST", `/bots/${botId}/ready`),
    offline: (botId: string) => call("DELETE", `/bots/${botId}`),
    stop: (taskId: string, storeId: string, botId: string) =>
      call<TaskBody>("POST", `/tasks/${taskId}/stops/${storeId}`, { botId }),
    complete: (taskId: string, botId: string) =>
      call<TaskBody>("POST", `/tasks/${taskId}/complete`, { botId }),
    pickup: (orderId: string) => call<{ orderId: string; taskId: string }>("POST", "/pickups", { orderId }),
    tasks: (query = "") => call<TaskBody[]>("GET", `/tasks${query}`),
    task: (taskId: string) => call<TaskBody>("GET", `/tasks/${taskId}`),
    bots: () => call<{ botId: string; status: string; taskId?: string }[]>("GET", "/bots"),
    /** The order's task, once Depot has one. */
    taskOf: async (orderId: string): Promise<TaskBody | undefined> => {
      const answer = await call<TaskBody[]>("GET", `/tasks?orderId=${encodeURIComponent(orderId)}`);
      return answer.body[0];
    },
  };
}

export interface BotTaskBody {
  readonly taskId: string;
  readonly orderId: string;
  readonly stops: { storeId: string; storeName: string; location: string; items: unknown[] }[];
}

export interface TaskBody extends BotTaskBody {
  readonly status: string;
  readonly botId?: string;
  readonly shoppedStores: string[];
  readonly reason?: string;
}

export type { MallbotsConfig };
