// Inbound bridges end to end: what a plain client of the engine publishes (CloudEvents in the engine's
// binding) appears in the log of a real `herald serve` once, also when the same event comes twice; a
// message that is not a CloudEvent is dropped visibly (metric), and an event the server refuses (type
// prefixes) ends in the engine's dead letters after maxDeliveries, with the refusal as its error.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type EngineBridges, engineBridges } from "@herald/bridges";
import { CloudEvent, decodeAmqp, decodeNats, encodeAmqp, encodeMqtt5, encodeNats } from "@herald/cloudevents";
import { type HeraldServer, type StartServerOptions, startServer } from "@herald/server";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect as natsConnect, headers as natsHeaders } from "@nats-io/transport-node";
import amqp from "amqplib";
import { Redis } from "ioredis";
import mqtt from "mqtt";
import { allEvents, eventually, metric, series } from "./support/harness.js";
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

const COUNT = 20;

/** A server with two inbound sources: `open` takes any type, `strict` only `com.ok.` types. */
async function serve(
  open: string,
  strict: string,
): Promise<{ server: HeraldServer; bridges: EngineBridges; close(): Promise<void> }> {
  const factory = engineBridges();
  let bridges: EngineBridges | undefined;
  const options: StartServerOptions = {
    port: 0,
    logLevel: "silent",
    storage: "memory",
    inbound: [
      { url: open, name: "open", group: "herald", ackTimeoutMs: 5_000, maxDeliveries: 3 },
      {
        url: strict,
        name: "strict",
        group: "herald",
        typePrefixes: ["com.ok."],
        ackTimeoutMs: 5_000,
        maxDeliveries: 3,
      },
    ] as never,
    bridges: (host) => {
      bridges = factory(host);
      return bridges;
    },
  };
  const server = await startServer(options);
  await bridges!.inboundReady;
  return { server, bridges: bridges!, close: () => server.close() };
}

function events(prefix: string, type = "com.example.inbound"): CloudEvent[] {
  return Array.from(
    { length: COUNT },
    (_, i) =>
      new CloudEvent({
        id: `${prefix}-${i}`,
        source: "/plain/client",
        type,
        subject: `s-${i % 4}`,
        data: { i },
      }),
  );
}

/** The log holds each id exactly once. */
async function assertOnce(server: HeraldServer, ids: readonly string[]): Promise<void> {
  const logged = await eventually(async () => {
    const all = await allEvents(server);
    return all.length >= ids.length ? all : undefined;
  }, `${ids.length} events in the log`);
  assert.deepEqual(
    logged.map((e) => e.event.id).sort(),
    [...ids].sort(),
    "every published event once, nothing else",
  );
}

describe("nats:// inbound", needsNats, () => {
  test("a plain JetStream publisher's events are ingested once; invalid and refused ones are handled", async () => {
    const subject = unique("bridge.in.");
    const strictSubject = unique("bridge.in.strict.");
    const { server, close } = await serve(`nats://${NATS}/${subject}`, `nats://${NATS}/${strictSubject}`);
    const nc = await natsConnect({ servers: NATS });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    try {
      const sent = events("n");
      const send = async (s: string, event: CloudEvent, mode: "binary" | "structured" = "binary") => {
        const message = encodeNats(event, mode, { withHeaders: true });
        const h = natsHeaders();
        for (const [name, value] of Object.entries(message.headers ?? {})) h.set(name, value);
        await js.publish(s, message.data, { headers: h });
      };
      for (const [i, event] of sent.entries())
        await send(subject, event, i % 2 === 0 ? "binary" : "structured");
      // The same event again (what a redelivery is to the log), and a message that is no CloudEvent.
      await send(subject, sent[3]!);
      await js.publish(subject, "plain text, no CloudEvent");
      await send(
        strictSubject,
        new CloudEvent({ id: "bad-type", source: "/plain/client", type: "com.bad.x" }),
      );
      await assertOnce(
        server,
        sent.map((e) => e.id),
      );
      await eventually(
        async () =>
          (await metric(server, "herald_bridge_inbound_messages_total", {
            bridge: "open",
            outcome: "invalid",
          })) === 1
            ? true
            : undefined,
        "the invalid message counted",
      );
      assert.equal(
        await metric(server, "herald_bridge_inbound_messages_total", {
          bridge: "open",
          outcome: "duplicate",
        }),
        1,
      );
      // Everything taken and acknowledged: the engine reports no lag for the group.
      await eventually(
        async () =>
          (await series(server, "herald_bridge_inbound_lag", { bridge: "open" })) === 0 ? true : undefined,
        "lag 0 once everything is acknowledged",
      );
      // Refused three times, then in the transport's dead-letter stream with the refusal.
      const letter = await eventually(async () => {
        const stream = `HERALD_${strictSubject.replace(/[^A-Za-z0-9_-]/g, "_")}_DEADLETTER`;
        const info = await jsm.streams.info(stream);
        if (info.state.messages === 0) return undefined;
        const m = await jsm.streams.getMessage(stream, { seq: info.state.first_seq });
        const h: Record<string, string> = {};
        for (const key of m!.header?.keys() ?? []) h[key] = m!.header!.get(key);
        return decodeNats({ headers: h, data: m!.data });
      }, "the refused event's dead letter");
      const data = letter.data as {
        reason: string;
        attempts: number;
        lastError: string;
        event: { id: string };
      };
      assert.equal(data.event.id, "bad-type");
      assert.equal(data.attempts, 3);
      assert.match(data.lastError, /type/);
      assert.equal(
        (await allEvents(server)).some((e) => e.event.id === "bad-type"),
        false,
      );
    } finally {
      await close();
      for (const s of [subject, strictSubject]) {
        const stream = `HERALD_${s.replace(/[^A-Za-z0-9_-]/g, "_")}`;
        await jsm.streams.delete(stream).catch(() => false);
        await jsm.streams.delete(`${stream}_DEADLETTER`).catch(() => false);
      }
      await nc.close();
    }
  });
});

describe("amqp:// inbound", needsAmqp, () => {
  test("a plain amqplib publisher's events are ingested once; invalid and refused ones are handled", async () => {
    const topic = unique("bridge-in-");
    const strictTopic = unique("bridge-in-strict-");
    const { server, close } = await serve(`${AMQP}/${topic}`, `${AMQP}/${strictTopic}`);
    const connection = await amqp.connect(AMQP);
    const channel = await connection.createConfirmChannel();
    const send = (exchange: string, event: CloudEvent, mode: "binary" | "structured" = "binary") =>
      new Promise<void>((resolve, reject) => {
        const message = encodeAmqp(event, mode);
        const headers: Record<string, unknown> = {};
        for (const [name, value] of Object.entries(message.applicationProperties)) headers[name] = value;
        channel.publish(
          exchange,
          "",
          Buffer.from(message.body === null ? "" : (message.body as string | Uint8Array)),
          { headers, persistent: true, ...(message.contentType ? { contentType: message.contentType } : {}) },
          (error: unknown) => (error ? reject(error) : resolve()),
        );
      });
    try {
      const sent = events("a");
      for (const [i, event] of sent.entries())
        await send(`herald.${topic}`, event, i % 2 === 0 ? "binary" : "structured");
      await send(`herald.${topic}`, sent[5]!);
      await new Promise<void>((resolve, reject) =>
        channel.publish(`herald.${topic}`, "", Buffer.from("no CloudEvent"), {}, (e: unknown) =>
          e ? reject(e) : resolve(),
        ),
      );
      await send(
        `herald.${strictTopic}`,
        new CloudEvent({ id: "bad-type", source: "/plain/client", type: "com.bad.x" }),
      );
      await assertOnce(
        server,
        sent.map((e) => e.id),
      );
      await eventually(
        async () =>
          (await metric(server, "herald_bridge_inbound_messages_total", {
            bridge: "open",
            outcome: "invalid",
          })) === 1
            ? true
            : undefined,
        "the invalid message counted",
      );
      assert.equal(
        await metric(server, "herald_bridge_inbound_messages_total", {
          bridge: "open",
          outcome: "duplicate",
        }),
        1,
      );
      // Everything taken and acknowledged: the engine reports no lag for the group.
      await eventually(
        async () =>
          (await series(server, "herald_bridge_inbound_lag", { bridge: "open" })) === 0 ? true : undefined,
        "lag 0 once everything is acknowledged",
      );
      const letter = await eventually(async () => {
        const message = await channel.get(`herald.${strictTopic}.deadletter`, { noAck: true });
        if (message === false) return undefined;
        const props: Record<string, string | number | boolean | Uint8Array> = {};
        for (const [k, v] of Object.entries(message.properties.headers ?? {}))
          if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") props[k] = v;
        return decodeAmqp({
          applicationProperties: props,
          body: message.content,
          ...(message.properties.contentType ? { contentType: message.properties.contentType } : {}),
        });
      }, "the refused event's dead letter");
      const data = letter.data as { attempts: number; lastError: string; event: { id: string } };
      assert.equal(data.event.id, "bad-type");
      assert.equal(data.attempts, 3);
    } finally {
      await close();
      for (const t of [topic, strictTopic]) {
        await channel.deleteQueue(`herald.${t}.herald`).catch(() => undefined);
        await channel.deleteQueue(`herald.${t}.herald.retry`).catch(() => undefined);
        await channel.deleteQueue(`herald.${t}.deadletter`).catch(() => undefined);
        await channel.deleteExchange(`herald.${t}`).catch(() => undefined);
      }
      await connection.close().catch(() => undefined);
    }
  });
});

describe("redis:// inbound", needsRedis, () => {
  test("a plain XADD's events are ingested once; invalid and refused ones are handled", async () => {
    const key = unique("bridge:in:");
    const strictKey = unique("bridge:in:strict:");
    const { server, close } = await serve(
      `${REDIS}/${encodeURIComponent(key)}`,
      `${REDIS}/${encodeURIComponent(strictKey)}`,
    );
    const redis = new Redis(REDIS);
    const send = async (k: string, event: CloudEvent, mode: "binary" | "structured" = "binary") => {
      const message = encodeNats(event, mode, { withHeaders: true });
      const fields: Array<string | Buffer> = [];
      for (const [name, value] of Object.entries(message.headers ?? {})) fields.push(name, value);
      fields.push("data", typeof message.data === "string" ? message.data : Buffer.from(message.data));
      await redis.xadd(k, "*", ...fields);
    };
    try {
      const sent = events("r");
      for (const [i, event] of sent.entries()) await send(key, event, i % 2 === 0 ? "binary" : "structured");
      await send(key, sent[7]!);
      await redis.xadd(key, "*", "hello", "world");
      await send(strictKey, new CloudEvent({ id: "bad-type", source: "/plain/client", type: "com.bad.x" }));
      await assertOnce(
        server,
        sent.map((e) => e.id),
      );
      await eventually(
        async () =>
          (await metric(server, "herald_bridge_inbound_messages_total", {
            bridge: "open",
            outcome: "invalid",
          })) === 1
            ? true
            : undefined,
        "the invalid message counted",
      );
      assert.equal(
        await metric(server, "herald_bridge_inbound_messages_total", {
          bridge: "open",
          outcome: "duplicate",
        }),
        1,
      );
      // Everything taken and acknowledged: the engine reports no lag for the group.
      await eventually(
        async () =>
          (await series(server, "herald_bridge_inbound_lag", { bridge: "open" })) === 0 ? true : undefined,
        "lag 0 once everything is acknowledged",
      );
      const letter = await eventually(async () => {
        const entries = (await redis.callBuffer("XRANGE", `${strictKey}:deadletter`, "-", "+")) as Array<
          [Buffer, Buffer[]]
        >;
        if (entries.length === 0) return undefined;
        const f = entries[0]![1];
        const h: Record<string, string> = {};
        let data: Uint8Array = new Uint8Array();
        for (let i = 0; i + 1 < f.length; i += 2) {
          if (f[i]!.toString() === "data") data = new Uint8Array(f[i + 1]!);
          else h[f[i]!.toString()] = f[i + 1]!.toString();
        }
        return decodeNats({ headers: h, data });
      }, "the refused event's dead letter");
      const data = letter.data as { attempts: number; event: { id: string } };
      assert.equal(data.event.id, "bad-type");
      assert.equal(data.attempts, 3);
    } finally {
      await close();
      await redis.del(key, strictKey, `${strictKey}:deadletter`);
      redis.disconnect();
    }
  });
});

describe("mqtt:// inbound", needsMqtt, () => {
  test("a plain MQTT 5 publisher's events are ingested once; invalid and refused ones are handled", async () => {
    const topic = unique("bridge/in/");
    const strictTopic = unique("bridge/in/strict/");
    const { server, close } = await serve(`${MQTT}/${topic}`, `${MQTT}/${strictTopic}`);
    const client = await mqtt.connectAsync(MQTT, { protocolVersion: 5 });
    const send = async (t: string, event: CloudEvent, mode: "binary" | "structured" = "binary") => {
      const message = encodeMqtt5(event, mode);
      await client.publishAsync(
        t,
        typeof message.payload === "string" ? message.payload : Buffer.from(message.payload),
        { qos: 1, properties: { ...(message.properties ?? {}) } },
      );
    };
    try {
      const sent = events("m");
      for (const [i, event] of sent.entries())
        await send(topic, event, i % 2 === 0 ? "binary" : "structured");
      await send(topic, sent[9]!);
      await client.publishAsync(topic, "no CloudEvent", { qos: 1 });
      await send(strictTopic, new CloudEvent({ id: "bad-type", source: "/plain/client", type: "com.bad.x" }));
      await assertOnce(
        server,
        sent.map((e) => e.id),
      );
      await eventually(
        async () =>
          (await metric(server, "herald_bridge_inbound_messages_total", {
            bridge: "open",
            outcome: "invalid",
          })) === 1
            ? true
            : undefined,
        "the invalid message counted",
      );
      assert.equal(
        await metric(server, "herald_bridge_inbound_messages_total", {
          bridge: "open",
          outcome: "duplicate",
        }),
        1,
      );
      // MQTT has no dead letters: refused on each of its 3 deliveries (redelivered by the broker after a
      // reconnect), then dropped with a negative PUBACK.
      await eventually(
        async () =>
          (await metric(server, "herald_bridge_inbound_messages_total", {
            bridge: "strict",
            outcome: "refused",
          })) === 3
            ? true
            : undefined,
        "the refused event delivered 3 times",
      );
      assert.equal(
        (await allEvents(server)).some((e) => e.event.id === "bad-type"),
        false,
      );
    } finally {
      await close();
      await client.endAsync();
    }
  });
});
