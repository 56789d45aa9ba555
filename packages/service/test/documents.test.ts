// OpenAPI 3.1 and AsyncAPI 3.0 from the definitions, checked by the official parsers
// (@readme/openapi-parser, @asyncapi/parser) and served by a running app.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Parser } from "@asyncapi/parser";
import { validate } from "@readme/openapi-parser";
import { defineEvent, HeraldClient } from "@herald/sdk";
import { Type } from "@sinclair/typebox";
import { asyncApiDocument, createApp, defineEventSource, http } from "../src/index.js";
import { quietLogger } from "./support.js";

const Order = Type.Object({ sku: Type.String(), qty: Type.Integer({ minimum: 1 }) });
const OrderPlaced = defineEvent({ type: "order.placed", schema: Order });
/** The schema as a JSON document holds it (TypeBox's symbol members dropped). */
const OrderJson = JSON.parse(JSON.stringify(Order)) as unknown;

const definitions = [
  defineEventSource({
    trigger: http.post("/orders"),
    summary: "Place an order",
    input: { body: Order, query: Type.Object({ dry: Type.Optional(Type.Boolean()) }) },
    output: { 201: Type.Object({ id: Type.String() }) },
    auth: { scopes: ["orders:write"] },
    authorize: () => true,
    handler: () => ({ status: 201, body: { id: "1" } }),
  }),
  defineEventSource({
    trigger: "http.get./orders/:id",
    input: { params: Type.Object({ id: Type.Integer() }) },
    auth: { required: false },
    handler: ({ params }) => ({ status: 200, body: params }),
  }),
  defineEventSource({
    trigger: "ws./echo",
    input: { message: Type.Object({ text: Type.String() }) },
    output: { message: Type.Object({ echoed: Type.String() }) },
    handler: (m) => ({ echoed: m.text }),
  }),
  defineEventSource({ trigger: "cron.0 3 * * *.Europe/Paris", name: "nightly", handler: () => undefined }),
  defineEventSource({ trigger: "herald.billing", event: OrderPlaced, handler: () => undefined }),
  defineEventSource({
    trigger: "herald.audit",
    types: ["order.placed", "order.cancelled"],
    mode: "push",
    handler: () => undefined,
  }),
];

describe("generated documents", () => {
  it("OpenAPI 3.1 describes every HTTP event, its schemas, refusals and security, and validates", async () => {
    const client = new HeraldClient({ url: "http://127.0.0.1:9" });
    const app = createApp({
      definitions,
      client,
      auth: { apiKeys: { k: { subject: "s" } } },
      logger: quietLogger(),
    });
    const doc = app.openapi() as {
      openapi: string;
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    assert.equal(doc.openapi, "3.1.0");
    const post = doc.paths["/orders"]!["post"]!;
    assert.deepEqual(Object.keys(post["responses"] as object).sort(), [
      "201",
      "400",
      "401",
      "403",
      "422",
      "500",
      "503",
    ]);
    assert.deepEqual(
      (post["requestBody"] as { content: Record<string, { schema: unknown }> }).content["application/json"]!
        .schema,
      OrderJson,
    );
    assert.deepEqual(post["security"], [{ apiKey: [] }, { bearer: ["orders:write"] }]);
    const get = doc.paths["/orders/{id}"]!["get"]!;
    assert.deepEqual(get["parameters"], [
      { name: "id", in: "path", required: true, schema: { type: "integer" } },
    ]);
    assert.deepEqual(get["security"], []);
    const result = await validate(structuredClone(doc) as never);
    assert.equal(result.valid, true, JSON.stringify(result.valid ? [] : result.errors));
    // The validator does refuse a broken document (a response without its description).
    const broken = structuredClone(doc);
    delete (broken.paths["/orders"]!["post"]!["responses"] as Record<string, Record<string, unknown>>)[
      "201"
    ]!["description"];
    assert.equal((await validate(broken as never)).valid, false);
    await client.close();
  });

  it("AsyncAPI 3.0 writes the CloudEvents envelope per binding and parses without errors", async () => {
    const client = new HeraldClient({ url: "http://127.0.0.1:9" });
    const app = createApp({ definitions, client, logger: quietLogger() });
    const doc = app.asyncapi() as {
      asyncapi: string;
      components: {
        messages: Record<string, { payload: Record<string, unknown>; headers?: Record<string, unknown> }>;
      };
    };
    assert.equal(doc.asyncapi, "3.0.0");
    const structured = doc.components.messages["order.placed.structured"]!;
    const props = structured.payload["properties"] as Record<string, unknown>;
    assert.deepEqual(props["type"], { type: "string", const: "order.placed" });
    assert.deepEqual(props["data"], OrderJson);
    assert.deepEqual(structured.payload["required"], ["specversion", "id", "source", "type"]);
    const binary = doc.components.messages["order.cancelled.binary"]!;
    assert.ok(binary.headers, "push messages carry ce- headers");
    assert.deepEqual((binary.headers["properties"] as Record<string, unknown>)["ce-type"], {
      type: "string",
      const: "order.cancelled",
    });
    const parsed = await new Parser().parse(JSON.stringify(doc));
    const errors = parsed.diagnostics.filter((d) => d.severity === 0);
    assert.deepEqual(errors, []);
    assert.ok(parsed.document, "parsed");
    assert.deepEqual(
      parsed
        .document!.operations()
        .all()
        .map((o) => o.id())
        .sort(),
      ["cron.0_3______.Europe_Paris", "herald.audit", "herald.billing", "ws._echo"],
    );
    await client.close();
  });

  it("AsyncAPI 3.0 writes transport sources with the envelope each binding publishes, and parses", async () => {
    const definitions = [
      defineEventSource({
        trigger: "nats.orders.billing",
        types: ["order.placed"],
        data: Order,
        handler: () => {},
      }),
      defineEventSource({ trigger: "rabbitmq.orders", types: ["order.placed"], handler: () => {} }),
      defineEventSource({
        trigger: "redis.orders.audit",
        types: ["order.placed"],
        data: Order,
        handler: () => {},
      }),
      defineEventSource({ trigger: "mqtt.shop/orders", types: ["order.placed"], handler: () => {} }),
    ];
    type Message = {
      headers?: { properties: Record<string, unknown>; required: string[] };
      payload: Record<string, unknown>;
      contentType?: string;
    };
    const doc = asyncApiDocument(definitions, { title: "shop", version: "1" }) as {
      servers: Record<string, { protocol: string }>;
      components: { messages: Record<string, Message> };
    };
    const m = doc.components.messages;
    const nats = m["nats.orders.order.placed"]!;
    assert.deepEqual(nats.headers!.required, ["ce-specversion", "ce-id", "ce-source", "ce-type"]);
    assert.deepEqual(nats.headers!.properties["ce-type"], { type: "string", const: "order.placed" });
    assert.ok("ce-datacontenttype" in nats.headers!.properties, "NATS carries ce-datacontenttype");
    assert.deepEqual(nats.payload, OrderJson);
    const amqp = m["rabbitmq.orders.order.placed"]!;
    assert.deepEqual(amqp.headers!.required, [
      "cloudEvents_specversion",
      "cloudEvents_id",
      "cloudEvents_source",
      "cloudEvents_type",
    ]);
    assert.ok(
      !("cloudEvents_datacontenttype" in amqp.headers!.properties),
      "AMQP: datacontenttype is content-type",
    );
    const mqtt = m["mqtt.shop_orders.order.placed"]!;
    assert.deepEqual(mqtt.headers!.required, ["specversion", "id", "source", "type"]);
    assert.ok(
      !("datacontenttype" in mqtt.headers!.properties),
      "MQTT 5: datacontenttype is the Content Type",
    );
    const redis = m["redis.orders.order.placed"]!;
    assert.equal(redis.headers, undefined, "a stream entry has no headers: its fields are the payload");
    assert.deepEqual(redis.payload["required"], ["ce-specversion", "ce-id", "ce-source", "ce-type", "data"]);
    assert.deepEqual(Object.fromEntries(Object.entries(doc.servers).map(([k, v]) => [k, v.protocol])), {
      herald: "http",
      app: "ws",
      nats: "nats",
      rabbitmq: "amqp",
      redis: "redis",
      mqtt: "mqtt",
    });
    const parsed = await new Parser().parse(JSON.stringify(doc));
    assert.deepEqual(
      parsed.diagnostics.filter((d) => d.severity === 0),
      [],
    );
    assert.deepEqual(
      parsed
        .document!.operations()
        .all()
        .map((o) => o.id())
        .sort(),
      ["mqtt.shop_orders", "nats.orders.billing", "rabbitmq.orders", "redis.orders.audit"],
    );
  });

  it("a running app serves both at /openapi.json and /asyncapi.json", async () => {
    const app = await createApp({ definitions: definitions.slice(0, 3), logger: quietLogger() }).start();
    try {
      const openapi = (await (await fetch(`${app.url}/openapi.json`)).json()) as {
        servers: { url: string }[];
      };
      assert.deepEqual(openapi.servers, [{ url: app.url }]);
      const asyncapi = (await (await fetch(`${app.url}/asyncapi.json`)).json()) as { asyncapi: string };
      assert.equal(asyncapi.asyncapi, "3.0.0");
    } finally {
      await app.stop();
    }
  });
});
