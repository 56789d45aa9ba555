// Interop with NATS's own client: what the transport publishes, a plain JetStream consumer reads as a
// CloudEvent in the NATS binding's binary mode (`ce-` headers, data as the payload); what a plain
// client publishes in the binding's structured mode (the JSON event format), a Herald consumer gets.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import type { TransportMessage } from "@herald/sdk";
import { connectNatsTransport, type NatsTransport } from "@herald/transport-nats";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { needsNats, natsUp, servers } from "./support/nats.js";

const topic = `herald.interop.${randomUUID().slice(0, 8)}`;
let transport: NatsTransport | undefined;

after(async () => {
  if (!natsUp || !transport) return;
  const jsm = await jetstreamManager(transport.connection);
  await jsm.streams.delete(transport.streamOf(topic)).catch(() => false);
  await jsm.streams.delete(transport.deadLetterOf(topic).stream).catch(() => false);
  await transport.close();
});

test("a plain JetStream consumer reads what the transport publishes (binary mode)", needsNats, async () => {
  transport = await connectNatsTransport({ servers });
  const event = new CloudEvent({
    id: "interop-1",
    source: "/interop",
    type: "com.example.interop",
    subject: "s/1",
    datacontenttype: "application/json",
    data: { hello: "nats" },
  });
  await transport.publish(topic, event);
  const nc = await connect({ servers });
  try {
    const jsm = await jetstreamManager(nc);
    const stream = transport.streamOf(topic);
    await jsm.consumers.add(stream, { durable_name: "plain", ack_policy: AckPolicy.Explicit });
    const messages = await (await jetstream(nc).consumers.get(stream, "plain")).fetch({
      max_messages: 1,
      expires: 2_000,
    });
    let seen = 0;
    for await (const m of messages) {
      seen++;
      assert.equal(m.headers?.get("ce-specversion"), "1.0");
      assert.equal(m.headers?.get("ce-id"), "interop-1");
      assert.equal(m.headers?.get("ce-source"), "/interop");
      assert.equal(m.headers?.get("ce-type"), "com.example.interop");
      assert.equal(m.headers?.get("ce-subject"), "s/1");
      assert.deepEqual(JSON.parse(m.string()), { hello: "nats" });
      m.ack();
    }
    assert.equal(seen, 1);
  } finally {
    await nc.close();
  }
});

test("a Herald consumer gets what a plain client publishes (structured mode)", needsNats, async () => {
  transport ??= await connectNatsTransport({ servers });
  const got: TransportMessage[] = [];
  const sub = await transport.subscribe({ topic, group: "herald" }, async (m) => {
    got.push(m);
    await m.ack();
  });
  const nc = await connect({ servers });
  try {
    const body = JSON.stringify({
      specversion: "1.0",
      id: "plain-1",
      source: "/plain",
      type: "com.example.plain",
      datacontenttype: "application/json",
      data: { from: "nats.js" },
    });
    await jetstream(nc).publish(topic, body);
    const deadline = Date.now() + 10_000;
    while (!got.some((m) => m.event.id === "plain-1")) {
      assert.ok(Date.now() < deadline, "the plain client's event did not arrive");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const m = got.find((x) => x.event.id === "plain-1")!;
    assert.equal(m.event.source, "/plain");
    assert.equal(m.event.type, "com.example.plain");
    assert.deepEqual(m.event.data, { from: "nats.js" });
  } finally {
    await nc.close();
    await sub.close();
  }
});
