// Stores against a real herald serve: the seed goes out once through the outbox, a restart publishes
// nothing new, changes publish the full product, and the API refuses what it must.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HeraldClient } from "@herald/sdk";
import { type HeraldServer, startServer } from "@herald/server";
import {
  DEMO_KEYS,
  DEMO_PRODUCTS,
  DEMO_STORES,
  type MallbotsConfig,
  type Product,
  ProductAdded,
  ProductRemoved,
  ProductUpdated,
  type RunningService,
  SOURCES,
  StoreCreated,
  startTracing,
} from "@mallbots/contracts";
import Database from "better-sqlite3";
import { startStores } from "../src/index.js";
import { call, eventsFrom, tempDir, testConfig, waitFor } from "./support.js";

const { internal, admin, kiosk } = DEMO_KEYS;

describe("stores", () => {
  let server: HeraldServer;
  let client: HeraldClient;
  let dir: ReturnType<typeof tempDir>;
  let config: MallbotsConfig;
  let stores: RunningService;

  const catalogEvents = () => eventsFrom(client, SOURCES.stores);

  before(async () => {
    server = await startServer({ memory: true, port: 0, logLevel: "silent" });
    client = new HeraldClient({ url: server.url });
    dir = tempDir();
    config = testConfig(server.url, dir.path);
    stores = await startStores(config);
  });
  after(async () => {
    await stores?.stop();
    await client?.close();
    await server?.close();
    dir?.remove();
  });

  it("seeds the demo mall once: every store and product in the log, a restart publishes nothing new", async () => {
    const seeded = DEMO_STORES.length + DEMO_PRODUCTS.length;
    await waitFor(async () => (await catalogEvents()).length >= seeded, "the seed in the log");
    const events = await catalogEvents();
    assert.deepEqual(
      events.filter((e) => e.type === StoreCreated.type).map((e) => ({ subject: e.subject, data: e.data })),
      DEMO_STORES.map((store) => ({ subject: store.storeId, data: store })),
    );
    assert.deepEqual(
      events.filter((e) => e.type === ProductAdded.type).map((e) => ({ subject: e.subject, data: e.data })),
      DEMO_PRODUCTS.map((product) => ({ subject: product.storeId, data: product })),
    );
    assert.equal(events.length, seeded);

    await stores.stop();
    stores = await startStores(config);
    // A change after the restart: once it is in the log, the relay has published everything before it.
    const created = await call(`${stores.url}/stores`, admin, "POST", {
      name: "Late Café",
      location: "Level 3",
    });
    assert.equal(created.status, 201);
    const { storeId } = created.body as { storeId: string };
    await waitFor(async () => (await catalogEvents()).some((e) => e.subject === storeId), "the new store");
    const afterRestart = await catalogEvents();
    assert.equal(afterRestart.length, seeded + 1);
    const outbox = new Database(`${dir.path}/stores/stores.db`, { readonly: true });
    try {
      assert.deepEqual(outbox.prepare("SELECT count(*) AS rows FROM herald_outbox").get(), {
        rows: seeded + 1,
      });
    } finally {
      outbox.close();
    }
    assert.deepEqual((await call(`${stores.url}/stores/${storeId}`, internal)).body, {
      storeId,
      name: "Late Café",
      location: "Level 3",
    });
  });

  it("publishes the full product on every change, and nothing for a change that changes nothing", async () => {
    const url = `${stores.url}/stores/store-bookshop/products`;
    const added = await call(url, admin, "POST", {
      name: "Atlas of the sky",
      description: "Maps",
      sku: "PC-300",
      price: 2500,
    });
    assert.equal(added.status, 201);
    const product = added.body as Product;
    assert.equal(product.storeId, "store-bookshop");
    assert.match(product.productId, /^prod-/);

    const repriced = { name: product.name, description: product.description, sku: product.sku, price: 1999 };
    const updated = await call(`${url}/${product.productId}`, internal, "PUT", repriced);
    assert.equal(updated.status, 200);
    assert.deepEqual(updated.body, { ...product, price: 1999 });
    // The same details again: 200 with the product, and no event.
    assert.deepEqual((await call(`${url}/${product.productId}`, admin, "PUT", repriced)).body, {
      ...product,
      price: 1999,
    });
    assert.equal((await call(`${url}/${product.productId}`, admin, "DELETE")).status, 204);
    assert.equal((await call(`${url}/${product.productId}`, admin, "DELETE")).status, 404);

    await waitFor(
      async () => (await catalogEvents()).some((e) => e.type === ProductRemoved.type),
      "the product removed",
    );
    const mine = (await catalogEvents()).filter(
      (e) => (e.data as { productId?: string }).productId === product.productId,
    );
    assert.deepEqual(
      mine.map((e) => ({ type: e.type, subject: e.subject, data: e.data })),
      [
        { type: ProductAdded.type, subject: "store-bookshop", data: product },
        { type: ProductUpdated.type, subject: "store-bookshop", data: { ...product, price: 1999 } },
        {
          type: ProductRemoved.type,
          subject: "store-bookshop",
          data: { productId: product.productId, storeId: "store-bookshop" },
        },
      ],
    );
    const list = (await call(url, internal)).body as Product[];
    assert.deepEqual(
      list.map((p) => p.productId).sort(),
      DEMO_PRODUCTS.filter((p) => p.storeId === "store-bookshop")
        .map((p) => p.productId)
        .sort(),
    );
  });

  it("refuses invalid input (400), a missing or unknown key (401), a key without the scope (403)", async () => {
    const invalid = await call(`${stores.url}/stores/store-tools/products`, admin, "POST", {
      name: "",
      description: "x",
      sku: "BH-1",
      price: -5,
      colour: "red",
    });
    assert.equal(invalid.status, 400);
    const problem = invalid.body as { code: string; errors: { field: string }[] };
    assert.equal(problem.code, "input-invalid");
    assert.deepEqual(problem.errors.map((e) => e.field).sort(), ["body/colour", "body/name", "body/price"]);

    const missing = await call(`${stores.url}/stores`, undefined);
    assert.deepEqual([missing.status, (missing.body as { code: string }).code], [401, "unauthorized"]);
    const unknown = await call(`${stores.url}/stores`, kiosk);
    assert.deepEqual([unknown.status, (unknown.body as { code: string }).code], [401, "api-key-invalid"]);
    // The admin key writes the catalog but does not read it (reads are mallbots:internal).
    const readByAdmin = await call(`${stores.url}/stores`, admin);
    assert.equal(readByAdmin.status, 403);
    assert.deepEqual(readByAdmin.body, {
      ...(readByAdmin.body as object),
      code: "forbidden",
      requiredScope: "mallbots:internal",
    });

    const noStore = await call(`${stores.url}/stores/store-nope/products`, admin, "POST", {
      name: "Ghost",
      description: "",
      sku: "X",
      price: 1,
    });
    assert.equal(noStore.status, 404);
    assert.equal((noStore.body as { code: string }).code, "route-not-found");
    assert.equal((await call(`${stores.url}/stores/store-nope`, internal)).status, 404);
    assert.equal((await call(`${stores.url}/stores/store-nope/products`, internal)).status, 404);
    assert.equal(
      (
        await call(`${stores.url}/stores/store-tools/products/prod-apples`, admin, "PUT", {
          name: "Apples",
          description: "",
          sku: "GG-001",
          price: 1,
        })
      ).status,
      404,
      "a product is found under its own store only",
    );
  });

  it("a change made over HTTP carries the caller's trace to its event", async () => {
    const tracing = startTracing("stores-test", { MALLBOTS_TRACE_FILE: `${dir.path}/spans.jsonl` });
    assert.ok(tracing);
    try {
      const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
      const added = await call(
        `${stores.url}/stores/store-tools/products`,
        admin,
        "POST",
        { name: "Spirit level", description: "60 cm", sku: "BH-020", price: 1250 },
        { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      );
      assert.equal(added.status, 201);
      const { productId } = added.body as Product;
      await waitFor(
        async () => (await catalogEvents()).some((e) => (e.data as Product).productId === productId),
        "the product in the log",
      );
      const event = (await catalogEvents()).find((e) => (e.data as Product).productId === productId)!;
      assert.match(String(event["traceparent"]), new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    } finally {
      await tracing.shutdown();
    }
  });
});
