// `registerSchemas: true`: an app registers its typed events' schemas in `herald serve` at start, and
// fails fast (before any source runs) when the registry refuses one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defineEvent, HeraldClient, SchemaRegistrationError } from "@herald/sdk";
import { startServer } from "@herald/server";
import { Type } from "@sinclair/typebox";
import { createApp, defineEventSource } from "../src/index.js";
import { quietLogger } from "./support.js";

describe("registerSchemas", () => {
  it("registers at start; a refused schema fails start before any source runs", async () => {
    const server = await startServer({ port: 0, memory: true, logLevel: "silent" });
    const client = new HeraldClient({ url: server.url });
    const definitionsFor = (schema: Parameters<typeof defineEvent>[0]["schema"]) => [
      defineEventSource({
        trigger: "herald.billing",
        event: defineEvent({ type: "order.placed", schema }),
        subscription: { types: ["order.placed"] },
        handler: () => undefined,
      }),
    ];
    try {
      const first = createApp({
        client,
        registerSchemas: true,
        logger: quietLogger(),
        transport: "poll",
        definitions: definitionsFor(Type.Object({ id: Type.String() })),
      });
      await first.start();
      await first.stop();
      assert.equal((await client.getSchema("order.placed"))?.version, 1);

      const breaking = createApp({
        client,
        registerSchemas: true,
        logger: quietLogger(),
        definitions: definitionsFor(Type.Object({ id: Type.Integer() })),
      });
      await assert.rejects(breaking.start(), (error: unknown) => {
        assert.ok(error instanceof SchemaRegistrationError);
        assert.deepEqual(
          error.breakingChanges.map((b) => b.rule),
          ["type-narrowed"],
        );
        return true;
      });
      assert.throws(() => breaking.url, "the HTTP server never started");
      assert.equal((await client.getSchema("order.placed"))?.version, 1);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
