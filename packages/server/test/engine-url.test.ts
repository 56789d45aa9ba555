// Engine URLs (subscription sinks and inbound sources): what parses, and a refusal naming the bad part,
// through the parser, the subscription API (400 bridge-sink-invalid) and the `inbound` setting.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, EngineUrlError, parseEngineUrl, resolveConfig } from "@herald/server";
import { withServer } from "./server-harness.js";

describe("parseEngineUrl", () => {
  test("each scheme: host, default port, target, pool key and masked display", () => {
    const nats = parseEngineUrl("nats://127.0.0.1/orders.placed", "sink");
    assert.deepEqual(
      [nats.engine, nats.port, nats.target, nats.connection],
      ["nats", 4222, "orders.placed", "nats://127.0.0.1:4222"],
    );
    const amqp = parseEngineUrl("amqp://app:s3cret@mq.example:5673/shop?routingKey=orders.eu", "sink");
    assert.deepEqual(
      [amqp.engine, amqp.username, amqp.password, amqp.target, amqp.routingKey],
      ["amqp", "app", "s3cret", "shop", "orders.eu"],
    );
    assert.equal(amqp.display, "amqp://app:********@mq.example:5673/shop?routingKey=orders.eu");
    assert.equal(parseEngineUrl("amqps://h/x", "sink").port, 5671);
    const redis = parseEngineUrl("redis://h/orders%3Aeu?db=2", "sink");
    assert.deepEqual([redis.target, redis.db, redis.connection], ["orders:eu", 2, "redis://h:6379/2"]);
    const mqtt = parseEngineUrl("mqtt://h:1884/shop/orders/eu?qos=2", "sink");
    assert.deepEqual([mqtt.target, mqtt.qos, mqtt.port], ["shop/orders/eu", 2, 1884]);
    assert.equal(parseEngineUrl("nats://h/orders?stream=ORDERS", "inbound").stream, "ORDERS");
  });

  const bad: Array<[string, "sink" | "inbound", EngineUrlError["part"]]> = [
    ["nats://h/", "sink", "path"],
    ["nats://h/orders.*", "sink", "path"],
    ["nats://h/a..b", "sink", "path"],
    ["nats://h/a?stream=X", "sink", "query"],
    ["amqp://h/a/b", "sink", "path"],
    ["amqp://h/x?routing=1", "sink", "query"],
    ["redis://h/a/b", "sink", "path"],
    ["redis://h/a?db=x", "sink", "query"],
    ["mqtt://h/a/+/b", "sink", "path"],
    ["mqtt://h/$SYS/x", "sink", "path"],
    ["mqtt://h/a?qos=3", "sink", "query"],
    ["nats:///subject", "sink", "host"],
    ["nats://h/x#frag", "sink", "fragment"],
    ["kafka://h/x", "sink", "scheme"],
    ["not a url", "sink", "url"],
  ];
  for (const [url, use, part] of bad) {
    test(`${url} (${use}) → ${part}`, () => {
      assert.throws(
        () => parseEngineUrl(url, use),
        (error: unknown) => error instanceof EngineUrlError && error.part === part,
      );
    });
  }
});

describe("engine sinks in the subscription API", () => {
  test("an invalid engine sink is 400 bridge-sink-invalid naming the part; without bridges a valid one too", async () => {
    await withServer({}, async (server) => {
      const post = async (sink: string, extra: Record<string, unknown> = {}) => {
        const response = await fetch(`${server.url}/subscriptions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ id: "b", sink, ...extra }),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      const invalid = await post("amqp://127.0.0.1:5672/");
      assert.equal(invalid.status, 400);
      assert.equal(invalid.body.code, "bridge-sink-invalid");
      assert.deepEqual(
        (invalid.body.errors as Array<{ field: string }>).map((e) => e.field),
        ["/sink#path"],
      );
      // This server was started without @herald/bridges.
      const valid = await post("nats://127.0.0.1:4222/orders");
      assert.equal(valid.status, 400);
      assert.equal(valid.body.code, "bridge-sink-invalid");
      assert.match(JSON.stringify(valid.body.errors), /without engine bridges/);
      // The Subscriptions API's protocol may name the engine; another one is refused.
      const named = await post("nats://127.0.0.1:4222/orders", { protocol: "NATS" });
      assert.equal(named.body.code, "bridge-sink-invalid");
      const mismatch = await post("nats://127.0.0.1:4222/orders", { protocol: "AMQP" });
      assert.equal(mismatch.body.code, "subscription-invalid");
      assert.deepEqual(
        (mismatch.body.errors as Array<{ field: string }>).map((e) => e.field),
        ["/protocol"],
      );
      const credential = await post("https://user:pw@example.com/hook");
      assert.equal(credential.body.code, "subscription-invalid", "webhook URLs still refuse credentials");
    });
  });
});

describe("the inbound setting", () => {
  test("defaults filled in; each bad entry named", () => {
    const config = resolveConfig({ flags: { inbound: [{ url: "nats://127.0.0.1/orders" }] } as never });
    assert.deepEqual(config.inbound, [
      {
        url: "nats://127.0.0.1/orders",
        name: "nats://127.0.0.1/orders",
        group: "herald",
        maxInFlight: 16,
        maxDeliveries: 5,
        ackTimeoutMs: 30_000,
      },
    ]);
    assert.throws(
      () =>
        resolveConfig({
          flags: {
            inbound: [
              { url: "nats://h/a.*" },
              { url: "redis://h/s", group: "a b", bogus: 1 },
              { url: "amqp://h/x", ackTimeout: "2s" },
            ],
          } as never,
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const settings = error.issues.map((i) => i.setting);
        assert.deepEqual(settings, ["--inbound[0].url", "--inbound[1].bogus", "--inbound[1].group"]);
        return true;
      },
    );
  });

  test("inbound sources without bridges: the server does not start", async () => {
    await assert.rejects(
      withServer({ inbound: [{ url: "nats://127.0.0.1/orders" }] } as never, async () => undefined),
      (error: unknown) => error instanceof ConfigError && /bridges/.test(error.message),
    );
  });
});
