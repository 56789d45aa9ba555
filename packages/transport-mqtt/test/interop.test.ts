// Interop with a plain MQTT.js client: what the transport publishes, a plain subscriber reads as a
// CloudEvent in the MQTT binding's binary mode (attributes as User Properties, datacontenttype as
// Content Type, data as the payload); what a plain client publishes in either mode, a Herald
// consumer gets.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import type { TransportMessage } from "@herald/sdk";
import { CloudEvent } from "@herald/cloudevents";
import { connectMqttTransport } from "@herald/transport-mqtt";
import mqtt, { type MqttClient } from "mqtt";
import { needsMqtt, sessionExpirySeconds, url } from "./support/mqtt.js";

function plainClient(): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 5, clientId: `plain-${randomUUID()}` });
}

test("a plain MQTT 5 subscriber reads what the transport publishes (binary mode)", needsMqtt, async () => {
  const topic = `herald-interop/${randomUUID().slice(0, 8)}`;
  const plain = await plainClient();
  const transport = await connectMqttTransport({ url, sessionExpirySeconds });
  try {
    const received = new Promise<{ payload: Buffer; packet: mqtt.IPublishPacket }>((resolve) =>
      plain.on("message", (_t, payload, packet) => resolve({ payload, packet })),
    );
    await plain.subscribeAsync(topic, { qos: 1 });
    await transport.publish(
      topic,
      new CloudEvent({
        id: "interop-1",
        source: "/interop",
        type: "com.example.interop",
        subject: "s/1",
        datacontenttype: "application/json",
        data: { hello: "mqtt" },
      }),
    );
    const { payload, packet } = await received;
    const props = packet.properties?.userProperties ?? {};
    assert.equal(props["specversion"], "1.0");
    assert.equal(props["id"], "interop-1");
    assert.equal(props["source"], "/interop");
    assert.equal(props["type"], "com.example.interop");
    assert.equal(props["subject"], "s/1");
    assert.equal(packet.properties?.contentType, "application/json");
    assert.equal(packet.qos, 1);
    assert.deepEqual(JSON.parse(payload.toString()), { hello: "mqtt" });
  } finally {
    await plain.endAsync();
    await transport.close();
  }
});

test(
  "a Herald consumer gets what a plain client publishes (binary and structured mode)",
  needsMqtt,
  async () => {
    const topic = `herald-interop/${randomUUID().slice(0, 8)}`;
    const transport = await connectMqttTransport({ url, sessionExpirySeconds });
    const plain = await plainClient();
    const got: TransportMessage[] = [];
    const sub = await transport.subscribe({ topic, group: "herald" }, async (m) => {
      got.push(m);
      await m.ack();
    });
    try {
      await plain.publishAsync(topic, JSON.stringify({ from: "mqtt.js", mode: "binary" }), {
        qos: 1,
        properties: {
          contentType: "application/json",
          userProperties: { specversion: "1.0", id: "plain-1", source: "/plain", type: "com.example.plain" },
        },
      });
      await plain.publishAsync(
        topic,
        JSON.stringify({
          specversion: "1.0",
          id: "plain-2",
          source: "/plain",
          type: "com.example.plain",
          datacontenttype: "application/json",
          data: { from: "mqtt.js", mode: "structured" },
        }),
        { qos: 1, properties: { contentType: "application/cloudevents+json; charset=utf-8" } },
      );
      const deadline = Date.now() + 10_000;
      while (got.length < 2) {
        assert.ok(Date.now() < deadline, "the plain client's events did not arrive");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const byId = new Map(got.map((m) => [m.event.id, m]));
      assert.equal(byId.get("plain-1")!.event.source, "/plain");
      assert.deepEqual(byId.get("plain-1")!.event.data, { from: "mqtt.js", mode: "binary" });
      assert.equal(byId.get("plain-2")!.event.type, "com.example.plain");
      assert.deepEqual(byId.get("plain-2")!.event.data, { from: "mqtt.js", mode: "structured" });
      assert.ok(got.every((m) => m.deliveryCount === 1));
    } finally {
      await sub.close({ drainMs: 1_000 });
      await plain.endAsync();
      await transport.close();
    }
  },
);
