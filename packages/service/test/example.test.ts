// The orders example service end to end on a real `herald serve`: HTTP → Herald → subscription, and
// the nightly cron job on a manual clock.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HeraldClient } from "@herald/sdk";
import { type HeraldServer, startServer } from "@herald/server";
import { type App, createApp } from "../src/index.js";
import { type Ledger, orderService } from "./examples/orders/service.js";
import { ManualClock, quietLogger, waitFor } from "./support.js";

describe("orders example service", () => {
  let server: HeraldServer;
  let client: HeraldClient;
  let app: App;
  const ledger: Ledger = { billed: [], reports: [] };
  const clock = new ManualClock(new Date("2026-06-01T12:00:00Z"));
  const subscription = `orders-billing-${Math.random().toString(36).slice(2, 8)}`;

  before(async () => {
    server = await startServer({ port: 0, memory: true, logLevel: "silent", shutdownDrainMs: 1_000 });
    client = new HeraldClient({ url: server.url });
    app = await createApp({
      definitions: orderService(ledger, subscription),
      client,
      clock,
      auth: { apiKeys: { "shop-key": { subject: "shop", scopes: ["orders:write"] } } },
      logger: quietLogger(),
      transport: "poll",
    }).start();
  });
  after(async () => {
    await app.stop();
    await client.close();
    await server.close();
  });

  const order = (body: unknown) =>
    fetch(`${app.url}/orders`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "shop-key" },
      body: JSON.stringify(body),
    });

  it("takes an order over HTTP, publishes it, and bills it from the subscription", async () => {
    const answer = await order({ sku: "tea", qty: 2 });
    assert.equal(answer.status, 202);
    const { id } = (await answer.json()) as { id: string };
    await waitFor(() => ledger.billed.length === 1, 10_000, "the order billed");
    assert.deepEqual(ledger.billed, [{ id, sku: "tea", qty: 2 }]);
    assert.equal((await order({ sku: "tea", qty: 0 })).status, 400);
  });

  it("dead-letters an order the billing refuses, and reports nightly in Paris time", async () => {
    assert.equal((await order({ sku: "discontinued", qty: 1 })).status, 202);
    await waitFor(async () => (await client.deadLetters(subscription)).deadLetters.length === 1, 15_000);
    await clock.advanceTo(new Date("2026-06-02T00:00:00Z"));
    // 02:00 in Paris in June is 00:00Z.
    assert.deepEqual(ledger.reports, ["1 billed before 2026-06-02T00:00:00.000Z"]);
  });
});
