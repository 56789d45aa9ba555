// What the Orders tests share: a real herald serve, the catalog's products published as Stores would,
// calls to Orders' API with the internal key, and waiting on a condition with a deadline.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CloudEvent } from "@herald/cloudevents";
import { decodeJsonEventObject } from "@herald/cloudevents";
import { HeraldClient } from "@herald/sdk";
import { type HeraldServer, startServer } from "@herald/server";
import {
  DEMO_KEYS,
  DEMO_PRODUCTS,
  type MallbotsConfig,
  ProductAdded,
  readConfig,
  SOURCES,
} from "@mallbots/contracts";

export interface Herald {
  readonly server: HeraldServer;
  readonly client: HeraldClient;
  close(): Promise<void>;
}

export async function startHerald(): Promise<Herald> {
  const server = await startServer({ memory: true, port: 0, logLevel: "silent" });
  const client = new HeraldClient({ url: server.url });
  return {
    server,
    client,
    async close() {
      await client.close();
      await server.close();
    },
  };
}

/** A temporary data directory, removed by the returned function. */
export function tempDir(): { readonly path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), "mallbots-orders-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function testConfig(heraldUrl: string, dataDir: string, flow = "orchestrated"): MallbotsConfig {
  return readConfig({
    MALLBOTS_HERALD_URL: heraldUrl,
    MALLBOTS_DATA_DIR: dataDir,
    MALLBOTS_PORT: "0",
    MALLBOTS_FLOW: flow,
  });
}

/** The demo catalog's products, published as Stores publishes them. */
export async function publishCatalog(client: HeraldClient): Promise<void> {
  const result = await client.sendBatch(
    DEMO_PRODUCTS.map((product) =>
      ProductAdded.create({ source: SOURCES.stores, subject: product.productId, data: product }),
    ),
  );
  if (!result.ok) throw new Error(`catalog not published: ${JSON.stringify(result)}`);
}

export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** A call to Orders with the internal key. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...headers,
      "x-api-key": DEMO_KEYS.internal,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? undefined : JSON.parse(text) };
}

/** Polls `probe` until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}${last === undefined ? "" : ` (last error: ${String(last)})`}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every event in herald serve's log (in position order). */
export async function allEvents(client: HeraldClient): Promise<CloudEvent[]> {
  const out: CloudEvent[] = [];
  for await (const entry of client.events({ pageSize: 1000 })) out.push(decodeJsonEventObject(entry.event));
  return out;
}

/** Orders' integration events in herald serve, optionally of one order. */
export async function orderEvents(client: HeraldClient, orderId?: string): Promise<CloudEvent[]> {
  return (await allEvents(client)).filter(
    (e) => e.source === SOURCES.orders && (orderId === undefined || e.subject === orderId),
  );
}
