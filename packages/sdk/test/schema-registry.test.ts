// The client's registry methods against a real `herald serve`, and typed definitions registered at
// start: a definition the registry refuses fails fast with the breaking changes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defineEvent, HeraldApiError, HeraldClient, SchemaRegistrationError } from "@herald/sdk";
import { startServer } from "@herald/server";
import { Type } from "@sinclair/typebox";

describe("HeraldClient: schema registry", () => {
  it("registers, reads, lists and configures; definitions register at start and fail fast", async () => {
    const server = await startServer({
      port: 0,
      memory: true,
      logLevel: "silent",
      schemas: { enforce: true },
    });
    const OrderPlaced = defineEvent({
      type: "order.placed",
      source: "/orders",
      schema: Type.Object({ id: Type.String() }),
    });
    const client = new HeraldClient({ url: server.url, events: [OrderPlaced] });
    try {
      const [v1] = await client.registerEventSchemas();
      assert.deepEqual(v1, {
        type: "order.placed",
        version: 1,
        dataschema: "herald:/schemas/order.placed/versions/1",
        created: true,
      });
      // Starting again is idempotent.
      assert.equal((await client.registerEventSchemas())[0]!.created, false);
      const read = await client.getSchema("order.placed");
      assert.deepEqual(read?.schema, {
        type: "object",
        properties: { id: { type: "string" } },
        required: ["id"],
      });
      assert.equal(await client.getSchema("nothing"), undefined);
      assert.equal(await client.getSchema("order.placed", { version: 7 }), undefined);
      assert.deepEqual(await client.listSchemas(), [
        { type: "order.placed", latestVersion: 1, compatibility: "BACKWARD" },
      ]);

      const sent = await client.send(OrderPlaced.create({ data: { id: "o-1" } }));
      assert.equal(sent.kind, "ack");

      // A new version of the definition that breaks BACKWARD: start fails before anything is published.
      const Breaking = defineEvent({
        type: "order.placed",
        version: 2,
        upcasters: { 1: (d) => d },
        schema: Type.Object({ id: Type.String(), total: Type.Number() }),
      });
      await assert.rejects(client.registerEventSchemas([Breaking]), (error: unknown) => {
        assert.ok(error instanceof SchemaRegistrationError);
        assert.equal(error.type, "order.placed");
        assert.deepEqual(
          error.breakingChanges.map((b) => [b.version, b.path, b.rule]),
          [[1, "#/required", "required-added"]],
        );
        assert.ok(error.cause instanceof HeraldApiError && error.cause.code === "schema-incompatible");
        return true;
      });
      const config = await client.setSchemaCompatibility("order.placed", "NONE");
      assert.deepEqual(config, { type: "order.placed", compatibility: "NONE", from: "type" });
      assert.equal((await client.registerEventSchemas([Breaking]))[0]!.version, 2);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
