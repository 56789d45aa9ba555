// Runs the worked example (examples/order-service) against a real herald serve and PostgreSQL.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DomainError } from "@herald/eventsourcing";
import { HeraldClient } from "@herald/sdk";
import { startServer } from "@herald/server";
import pg from "pg";
import { connection, freshSchema, needsPostgres } from "../../support/pg.js";
import { startOrderService } from "./order-service.js";

test("the order service example: commands, the query API, the outbox", {
  ...needsPostgres,
  timeout: 60_000,
}, async () => {
  const server = await startServer({ memory: true, port: 0, logLevel: "silent" });
  const herald = new HeraldClient({ url: server.url });
  const pool = new pg.Pool({ ...connection, max: 4 });
  const service = await startOrderService(herald, pool, freshSchema());
  try {
    await service.handle("1", { type: "place", customer: "ada" });
    await service.handle("1", { type: "add", sku: "tea", quantity: 2 });
    await assert.rejects(service.handle("2", { type: "ship" }), DomainError);
    await service.handle("1", { type: "ship" });
    await service.caughtUp();
    assert.deepEqual(await service.getOrder("1"), {
      id: "order-1",
      customer: "ada",
      items: 2,
      status: "shipped",
    });
    assert.equal(await service.getOrder("2"), undefined);

    await service.registerCustomer("c1", "Ada", "ada@example.com");
    await assert.rejects(service.registerCustomer("c1", "Ada again", "x@example.com")); // rolled back: no event
    // The relay publishes in the background; wait for the integration event in Herald.
    let published: unknown[] = [];
    for await (const entry of herald.events({
      follow: true,
      pollIntervalMs: 20,
      signal: AbortSignal.timeout(30_000),
    })) {
      if (entry.event.type === "shop.integration.customer-registered") {
        published = [entry.event.data];
        break;
      }
    }
    assert.deepEqual(published, [{ id: "c1" }]);
  } finally {
    await service.stop();
    await pool.end();
    await herald.close();
    await server.close();
  }
});
