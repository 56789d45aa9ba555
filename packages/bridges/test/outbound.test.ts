// Outbound bridges end to end: events published to a real `herald serve` reach a subscription's engine
// sink, read back by the engine's own client as CloudEvents in the matching binding (binary by default,
// structured on request); an engine that does not acknowledge is retried until maxDeliveries, a
// permanent refusal is dead-lettered at once, both with the reason.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type CloudEvent, decodeAmqp, decodeMqtt, decodeNats } from "@herald/cloudevents";
import type { HeraldServer } from "@herald/server";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import amqp from "amqplib";
import { Redis } from "ioredis";
import mqtt from "mqtt";
import { call, deadLetters, eventually, metric, publish, startBridged } from "./support/harness.js";
import {
  AMQP,
  MQTT,
  NATS,
  needsAmqp,
  needsMqtt,
  needsNats,
  needsRedis,
  REDIS,
  unique,
} from "./support/services.js";

/** Quick retries: a failing sink reaches its dead letter in well under a second. */
const FAST = { start: "beginning", maxDeliveries: 3, backoffBaseMs: 10, backoffCapMs: 50, timeoutMs: 2_000 };

let server: HeraldServer;
before(async () => {
  server = await startBridged();
});
after(async () => {
  await server.close();
});

async function subscribe(id: string, sink: string, config: Record<string, unknown> = {}): Promise<void> {
  const answer = await call(server, "POST", "/subscriptions", {
    id,
    sink,
    types: [`t.${id}`],
    config: { ...FAST, ...config },
  });
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
}

function events(
  id: string,
  count: number,
  extra: Record<string, unknown> = {},
): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => ({
    id: `${id}-${i}`,
    source: "/bridges/test",
    type: `t.${id}`,
    subject: `key-${i % 3}`,
    data: { n: i },
    ...extra,
  }));
}

async function deadLetterOf(id: string): Promise<{ reason: string; attempts: number; lastError: string }> {
  return eventually(async () => (await deadLetters(server, id))[0], `a dead letter of ${id}`);
}

test("engine sinks are checked at create: the bad part named, the sink policy's host rules applied", async () => {
  const invalid = await call(server, "POST", "/subscriptions", {
    id: unique("v"),
    sink: "redis://127.0.0.1:6379/a/b",
  });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.body.code, "bridge-sink-invalid");
  assert.deepEqual(
    (invalid.body.errors as Array<{ field: string }>).map((e) => e.field),
    ["/sink#path"],
  );
  const query = await call(server, "POST", "/subscriptions", {
    id: unique("v"),
    sink: "amqp://127.0.0.1/x?routing_key=a",
  });
  assert.deepEqual(
    [query.body.code, (query.body.errors as Array<{ field: string }>)[0]!.field],
    ["bridge-sink-invalid", "/sink#query"],
  );
  const metadata = await call(server, "POST", "/subscriptions", {
    id: unique("v"),
    sink: "nats://169.254.169.254:4222/latest",
  });
  assert.equal(metadata.status, 400);
  assert.equal(metadata.body.code, "sink-refused");
});

describe("nats:// sinks", needsNats, () => {
  test("delivered to the JetStream stream holding the subject, binary and structured", async () => {
    const nc = await natsConnect({ servers: NATS });
    const jsm = await jetstreamManager(nc);
    const subject = unique("bridge.out.");
    const stream = unique("BRIDGE_OUT_");
    await jsm.streams.add({ name: stream, subjects: [`${subject}.*`] });
    try {
      const binary = unique("nb");
      const structured = unique("ns");
      await subscribe(binary, `nats://${NATS}/${subject}.binary`);
      await subscribe(structured, `nats://${NATS}/${subject}.structured`, { contentMode: "structured" });
      await publish(server, [...events(binary, 3), ...events(structured, 2)]);
      const read = async (
        filter: string,
      ): Promise<Array<{ event: CloudEvent; headers: Record<string, string> }>> => {
        const info = await jsm.streams.info(stream);
        const out: Array<{ event: CloudEvent; headers: Record<string, string> }> = [];
        for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
          const m = await jsm.streams.getMessage(stream, { seq });
          if (m === null || m.subject !== filter) continue;
          const headers: Record<string, string> = {};
          for (const key of m.header?.keys() ?? []) headers[key] = m.header!.get(key);
          out.push({ event: decodeNats({ headers, data: m.data }), headers });
        }
        return out;
      };
      const got = await eventually(async () => {
        const messages = await read(`${subject}.binary`);
        return messages.length === 3 ? messages : undefined;
      }, "3 binary messages");
      assert.deepEqual(
        got.map((m) => m.event.id),
        [`${binary}-0`, `${binary}-1`, `${binary}-2`],
      );
      assert.deepEqual(got[1]!.event.data, { n: 1 });
      assert.equal(got[0]!.headers["ce-type"], `t.${binary}`, "binary mode: attributes as ce- headers");
      const structuredGot = await eventually(async () => {
        const messages = await read(`${subject}.structured`);
        return messages.length === 2 ? messages : undefined;
      }, "2 structured messages");
      assert.equal(structuredGot[0]!.headers["ce-type"], undefined, "structured mode: no ce- headers");
      assert.deepEqual(structuredGot[0]!.event.data, { n: 0 });
      assert.equal(
        await metric(server, "herald_bridge_outbound_attempts_total", {
          subscription: binary,
          outcome: "ack",
        }),
        3,
      );
    } finally {
      await jsm.streams.delete(stream).catch(() => false);
      await nc.close();
    }
  });

  test("retried while no stream holds the subject, delivered in per-key order once one does", async () => {
    const nc = await natsConnect({ servers: NATS });
    const jsm = await jetstreamManager(nc);
    const subject = unique("bridge.later.");
    const stream = unique("BRIDGE_LATER_");
    try {
      const id = unique("nl");
      await subscribe(id, `nats://${NATS}/${subject}`, { maxDeliveries: 1000, maxInFlight: 8 });
      await publish(server, events(id, 12));
      await eventually(
        async () =>
          (await metric(server, "herald_bridge_outbound_attempts_total", {
            subscription: id,
            outcome: "retry",
          })) >= 6
            ? true
            : undefined,
        "retries while there is no stream",
      );
      await jsm.streams.add({ name: stream, subjects: [subject] });
      const got = await eventually(async () => {
        const info = await jsm.streams.info(stream);
        if (info.state.messages < 12) return undefined;
        const out: CloudEvent[] = [];
        for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
          const m = await jsm.streams.getMessage(stream, { seq });
          const headers: Record<string, string> = {};
          for (const key of m!.header?.keys() ?? []) headers[key] = m!.header!.get(key);
          out.push(decodeNats({ headers, data: m!.data }));
        }
        return out;
      }, "12 messages once the stream exists");
      assert.equal(new Set(got.map((e) => e.id)).size, 12);
      for (const subjectKey of ["key-0", "key-1", "key-2"]) {
        const ns = got.filter((e) => e.subject === subjectKey).map((e) => (e.data as { n: number }).n);
        assert.deepEqual(
          ns,
          [...ns].sort((a, b) => a - b),
          `${subjectKey} in publish order after the retries`,
        );
      }
      assert.equal((await deadLetters(server, id)).length, 0);
    } finally {
      await jsm.streams.delete(stream).catch(() => false);
      await nc.close();
    }
  });

  test("a subject no stream holds is never acknowledged: retried, then dead-lettered", async () => {
    const id = unique("nx");
    await subscribe(id, `nats://${NATS}/${unique("bridge.nostream.")}`);
    await publish(server, events(id, 1));
    const letter = await deadLetterOf(id);
    assert.equal(letter.reason, "max-deliveries");
    assert.equal(letter.attempts, 3);
    assert.match(letter.lastError, /^nats /);
  });
});

describe("amqp:// sinks", needsAmqp, () => {
  test("delivered to the exchange with the routing key, read back with amqplib", async () => {
    const connection = await amqp.connect(AMQP);
    const channel = await connection.createChannel();
    const exchange = unique("bridge.out.");
    const queue = unique("bridge.q.");
    await channel.assertExchange(exchange, "direct", { durable: false, autoDelete: false });
    await channel.assertQueue(queue, { durable: false });
    await channel.bindQueue(queue, exchange, "orders");
    try {
      const id = unique("ab");
      const [user, rest] = AMQP.replace("amqp://", "").split("@") as [string, string];
      await subscribe(id, `amqp://${user}@${rest}/${exchange}?routingKey=orders`);
      // The password is not shown; a PUT sending back what GET showed keeps the stored one.
      const shown = await call(server, "GET", `/subscriptions/${id}`);
      assert.ok(!String(shown.body.sink).includes(`:${user.split(":")[1]}@`), String(shown.body.sink));
      assert.match(String(shown.body.sink), /:\*{8}@/);
      const put = await call(server, "PUT", `/subscriptions/${id}`, shown.body);
      assert.equal(put.status, 200, JSON.stringify(put.body));
      await publish(server, events(id, 2));
      const got: CloudEvent[] = [];
      await eventually(async () => {
        const message = await channel.get(queue, { noAck: true });
        if (message !== false) {
          const props: Record<string, string | number | boolean | Uint8Array> = {};
          for (const [k, v] of Object.entries(message.properties.headers ?? {})) {
            if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") props[k] = v;
          }
          got.push(
            decodeAmqp({
              applicationProperties: props,
              body: message.content,
              ...(message.properties.contentType ? { contentType: message.properties.contentType } : {}),
            }),
          );
        }
        return got.length === 2 ? true : undefined;
      }, "2 messages in the bound queue");
      assert.deepEqual(
        got.map((e) => e.id),
        [`${id}-0`, `${id}-1`],
      );
      assert.deepEqual(got[1]!.data, { n: 1 });
    } finally {
      await channel.deleteExchange(exchange).catch(() => undefined);
      await channel.deleteQueue(queue).catch(() => undefined);
      await connection.close();
    }
  });

  test("an exchange that does not exist is a permanent error: dead-lettered at once with the reason", async () => {
    const id = unique("am");
    const exchange = unique("bridge.missing.");
    await subscribe(id, `${AMQP}/${exchange}?routingKey=x`);
    await publish(server, events(id, 1));
    const letter = await deadLetterOf(id);
    assert.equal(letter.reason, "rejected");
    assert.equal(letter.attempts, 1);
    assert.match(letter.lastError, /NOT_FOUND/);
    assert.match(letter.lastError, new RegExp(exchange.replace(/\./g, "\\.")));
  });

  test("a broker that is down: retried, then dead-lettered", async () => {
    const id = unique("ad");
    await subscribe(id, "amqp://guest:guest@127.0.0.1:1/anything");
    await publish(server, events(id, 1));
    const letter = await deadLetterOf(id);
    assert.equal(letter.reason, "max-deliveries");
    assert.equal(letter.attempts, 3);
    assert.match(letter.lastError, /ECONNREFUSED/);
  });
});

describe("redis:// sinks", needsRedis, () => {
  test("XADDed to the stream key, per-key order kept, binary and structured", async () => {
    const redis = new Redis(REDIS);
    const key = unique("bridge:out:");
    const structuredKey = unique("bridge:out:");
    try {
      const id = unique("rb");
      const structured = unique("rs");
      await subscribe(id, `${REDIS}/${encodeURIComponent(key)}`, { maxInFlight: 8 });
      await subscribe(structured, `${REDIS}/${encodeURIComponent(structuredKey)}`, {
        contentMode: "structured",
      });
      await publish(server, [...events(id, 30), ...events(structured, 1)]);
      const read = async (k: string): Promise<CloudEvent[]> => {
        const entries = (await redis.callBuffer("XRANGE", k, "-", "+")) as Array<[Buffer, Buffer[]]>;
        return entries.map(([, f]) => {
          const headers: Record<string, string> = {};
          let data: Uint8Array = new Uint8Array();
          for (let i = 0; i + 1 < f.length; i += 2) {
            if (f[i]!.toString() === "data") data = new Uint8Array(f[i + 1]!);
            else headers[f[i]!.toString()] = f[i + 1]!.toString();
          }
          return decodeNats({ headers, data });
        });
      };
      const got = await eventually(async () => {
        const all = await read(key);
        return all.length === 30 ? all : undefined;
      }, "30 stream entries");
      for (const subject of ["key-0", "key-1", "key-2"]) {
        const ns = got.filter((e) => e.subject === subject).map((e) => (e.data as { n: number }).n);
        assert.deepEqual(
          ns,
          [...ns].sort((a, b) => a - b),
          `per-key order of ${subject}`,
        );
        assert.equal(ns.length, 10);
      }
      const structuredGot = await eventually(
        async () => (await read(structuredKey))[0],
        "the structured entry",
      );
      assert.equal(structuredGot.id, `${structured}-0`);
    } finally {
      await redis.del(key, structuredKey);
      redis.disconnect();
    }
  });

  test("a key that is not a stream is a permanent error: dead-lettered at once", async () => {
    const redis = new Redis(REDIS);
    const key = unique("bridge:string:");
    await redis.set(key, "not a stream");
    try {
      const id = unique("rw");
      await subscribe(id, `${REDIS}/${encodeURIComponent(key)}`);
      await publish(server, events(id, 1));
      const letter = await deadLetterOf(id);
      assert.equal(letter.reason, "rejected");
      assert.equal(letter.attempts, 1);
      assert.match(letter.lastError, /not a stream/);
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });
});

describe("mqtt:// sinks", needsMqtt, () => {
  test("published to the topic with QoS 1, read back by an MQTT 5 client, binary and structured", async () => {
    const client = await mqtt.connectAsync(MQTT, { protocolVersion: 5, clean: true });
    const topic = unique("bridge/out/");
    const got: CloudEvent[] = [];
    const contentTypes: Array<string | undefined> = [];
    client.on("message", (_topic, payload, packet) => {
      got.push(
        decodeMqtt({
          payload,
          properties: {
            ...(packet.properties?.contentType ? { contentType: packet.properties.contentType } : {}),
            ...(packet.properties?.userProperties
              ? { userProperties: packet.properties.userProperties as Record<string, string> }
              : {}),
          },
        }),
      );
      contentTypes.push(packet.properties?.contentType);
    });
    await client.subscribeAsync(`${topic}/#`, { qos: 1 });
    try {
      const binary = unique("mb");
      const structured = unique("ms");
      await subscribe(binary, `${MQTT}/${topic}/binary`);
      await subscribe(structured, `${MQTT}/${topic}/structured`, { contentMode: "structured" });
      await publish(server, [...events(binary, 2), ...events(structured, 1)]);
      await eventually(async () => (got.length === 3 ? true : undefined), "3 MQTT messages");
      const ids = got.map((e) => e.id).sort();
      assert.deepEqual(ids, [`${binary}-0`, `${binary}-1`, `${structured}-0`].sort());
      const s = got.findIndex((e) => e.id === `${structured}-0`);
      assert.match(contentTypes[s] ?? "", /^application\/cloudevents\+json/);
      assert.deepEqual(got.find((e) => e.id === `${binary}-1`)!.data, { n: 1 });
    } finally {
      await client.endAsync();
    }
  });

  test("a broker that is down: retried, then dead-lettered", async () => {
    const id = unique("md");
    await subscribe(id, "mqtt://127.0.0.1:1/anything");
    await publish(server, events(id, 1));
    const letter = await deadLetterOf(id);
    assert.equal(letter.reason, "max-deliveries");
    assert.equal(letter.attempts, 3);
  });
});
