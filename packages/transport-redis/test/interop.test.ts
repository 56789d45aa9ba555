// Interop with Redis's own client: what the transport publishes, a plain XREAD reads as a CloudEvent
// in the documented layout (binary: `ce-` fields, the payload in `data`); what a plain client XADDs in
// structured layout (`content-type: application/cloudevents+json`, the JSON event format in `data`), a
// Herald consumer gets.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import type { TransportMessage } from "@herald/sdk";
import { connectRedisTransport } from "@herald/transport-redis";
import { Redis } from "ioredis";
import { needsRedis, redisUp, url } from "./support/redis.js";

const topic = `interop-${randomUUID().slice(0, 8)}`;

after(async () => {
  if (!redisUp) return;
  const redis = new Redis(url);
  const keys = connectRedisTransport({ connection: redis });
  await redis.del(keys.streamKeyOf(topic), keys.deadLetterKeyOf(topic));
  await redis.quit();
});

test("a plain XREAD reads what the transport publishes (binary layout)", needsRedis, async () => {
  const transport = connectRedisTransport({ url });
  const redis = new Redis(url);
  try {
    await transport.publish(
      topic,
      new CloudEvent({
        id: "interop-1",
        source: "/interop",
        type: "com.example.interop",
        datacontenttype: "application/json",
        data: { hello: "redis" },
      }),
    );
    const answer = (await redis.xread("STREAMS", transport.streamKeyOf(topic), "0")) as Array<
      [string, Array<[string, string[]]>]
    >;
    const fields = answer[0]![1][0]![1];
    const record = Object.fromEntries(
      Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i]!, fields[2 * i + 1]!]),
    );
    assert.equal(record["ce-specversion"], "1.0");
    assert.equal(record["ce-id"], "interop-1");
    assert.equal(record["ce-source"], "/interop");
    assert.equal(record["ce-type"], "com.example.interop");
    assert.deepEqual(JSON.parse(record["data"]!), { hello: "redis" });
  } finally {
    await redis.quit();
    await transport.close();
  }
});

test("a Herald consumer gets what a plain client XADDs (structured layout)", needsRedis, async () => {
  const transport = connectRedisTransport({ url });
  const redis = new Redis(url);
  const got: TransportMessage[] = [];
  const sub = await transport.subscribe({ topic, group: "herald" }, async (m) => {
    got.push(m);
    await m.ack();
  });
  try {
    const body = JSON.stringify({
      specversion: "1.0",
      id: "plain-1",
      source: "/plain",
      type: "com.example.plain",
      data: { from: "ioredis" },
    });
    await redis.xadd(
      transport.streamKeyOf(topic),
      "*",
      "content-type",
      "application/cloudevents+json",
      "data",
      body,
    );
    const deadline = Date.now() + 10_000;
    while (!got.some((m) => m.event.id === "plain-1")) {
      assert.ok(Date.now() < deadline, "the plain client's event did not arrive");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const m = got.find((x) => x.event.id === "plain-1")!;
    assert.equal(m.event.type, "com.example.plain");
    assert.deepEqual(m.event.data, { from: "ioredis" });
  } finally {
    await sub.close();
    await redis.quit();
    await transport.close();
  }
});
