// Interop with amqplib used directly: what the transport publishes, a plain consumer reads as a
// CloudEvent in the AMQP binding's binary mode (`cloudEvents_*` headers, content-type, the data as the
// body); what a plain client publishes in that format, a Herald consumer gets.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import type { TransportMessage } from "@herald/sdk";
import { amqpNames, connectAmqpTransport } from "@herald/transport-amqp";
import amqp from "amqplib";
import { amqpUp, deleteTopology, needsAmqp, url } from "./support/amqp.js";

const topic = `interop-${randomUUID().slice(0, 8)}`;

after(async () => {
  if (amqpUp) await deleteTopology([topic], ["herald", "plain"]);
});

test("plain amqplib and the transport read each other's events (binary mode)", needsAmqp, async () => {
  const transport = await connectAmqpTransport({ url });
  const connection = await amqp.connect(url);
  const channel = await connection.createConfirmChannel();
  const got: TransportMessage[] = [];
  try {
    const sub = await transport.subscribe({ topic, group: "herald" }, async (m) => {
      got.push(m);
      await m.ack();
    });
    // A plain queue bound to the topic's exchange, declared before anything is published.
    const plain = amqpNames(topic, "plain");
    await channel.assertQueue(plain.queue, { durable: true, arguments: { "x-queue-type": "quorum" } });
    await channel.bindQueue(plain.queue, plain.exchange, "");

    await transport.publish(
      topic,
      new CloudEvent({
        id: "interop-1",
        source: "/interop",
        type: "com.example.interop",
        datacontenttype: "application/json",
        data: { hello: "amqp" },
      }),
    );
    await new Promise<void>((resolve, reject) => {
      channel.publish(
        plain.exchange,
        "",
        Buffer.from(JSON.stringify({ from: "amqplib" })),
        {
          contentType: "application/json",
          headers: {
            cloudEvents_specversion: "1.0",
            cloudEvents_id: "plain-1",
            cloudEvents_source: "/plain",
            cloudEvents_type: "com.example.plain",
          },
        },
        (error: unknown) => (error ? reject(error) : resolve()),
      );
    });

    const seen: amqp.GetMessage[] = [];
    const deadline = Date.now() + 10_000;
    while (seen.length < 2 || !got.some((m) => m.event.id === "plain-1")) {
      assert.ok(Date.now() < deadline, "events did not arrive");
      const m = await channel.get(plain.queue, { noAck: true });
      if (m) seen.push(m);
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const fromHerald = seen.find((m) => m.properties.headers?.["cloudEvents_id"] === "interop-1")!;
    assert.ok(fromHerald, "the plain consumer read the transport's event");
    assert.equal(fromHerald.properties.headers?.["cloudEvents_specversion"], "1.0");
    assert.equal(fromHerald.properties.headers?.["cloudEvents_type"], "com.example.interop");
    assert.equal(fromHerald.properties.contentType, "application/json");
    assert.deepEqual(JSON.parse(fromHerald.content.toString()), { hello: "amqp" });
    const fromPlain = got.find((m) => m.event.id === "plain-1")!;
    assert.equal(fromPlain.event.source, "/plain");
    assert.equal(fromPlain.event.type, "com.example.plain");
    assert.deepEqual(fromPlain.event.data, { from: "amqplib" });
    await sub.close();
  } finally {
    await connection.close();
    await transport.close();
  }
});
