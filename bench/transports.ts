// Transports benchmark: for each engine on this machine, the Herald transport beside the engine's own
// client doing the same work in the same run.
//   publish: COUNT single-event publishes, CONCURRENCY awaited at once (each waits for the engine's
//            acknowledgement: PubAck, XADD reply, publisher confirm): events/s, latency p50/p99.
//   consume: COUNT events already stored, one member (maxInFlight 64) acking each: events/s, and the
//            latency publish → handler of a second, paced run is not measured here.
// MQTT keeps nothing for a group that has no member connected (and Mosquitto queues at most 1 000
// messages for an offline session): its consume phase subscribes first, then publishes COUNT and
// waits until every one is handled, for the transport and the raw client alike.
// Raw peers publish the JSON event format (one string) and parse it on receipt; the transports use
// their binding's binary mode. Engines that are down are skipped.
// Usage: node bench/dist/transports.js [--quick]   (COUNT 20 000, --quick 2 000)
// Last line of output: one JSON object with every figure.
import { randomUUID } from "node:crypto";
import { CloudEvent } from "@herald/cloudevents";
import type { Transport } from "@herald/sdk";
import { connectAmqpTransport } from "@herald/transport-amqp";
import { connectMqttTransport } from "@herald/transport-mqtt";
import { connectNatsTransport } from "@herald/transport-nats";
import { connectRedisTransport } from "@herald/transport-redis";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import amqp from "amqplib";
import { Redis } from "ioredis";
import mqtt from "mqtt";
import { perSecond, percentiles, ratio } from "./lib/log-stats.js";

const QUICK = process.argv.includes("--quick");
const COUNT = QUICK ? 2_000 : 20_000;
const CONCURRENCY = 32;

interface Figures {
  readonly eventsPerSec: number;
  readonly p50ms?: number;
  readonly p99ms?: number;
}

interface Peer {
  publish(id: number): Promise<void>;
  /** Consumes `count` stored events, acking each; resolves when all are acked. */
  consume(count: number): Promise<void>;
  close(): Promise<void>;
}

function event(i: number): CloudEvent {
  return new CloudEvent({
    id: `bench-${i}`,
    source: "/bench/transports",
    type: "bench.transport",
    datacontenttype: "application/json",
    data: { i, text: "a small payload of a few dozen bytes" },
  });
}
const json = (i: number) => JSON.stringify(event(i).toJSON());

async function publishPhase(publish: (i: number) => Promise<void>): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < COUNT) {
        const i = next++;
        const t0 = performance.now();
        await publish(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const p = percentiles(latencies);
  return { eventsPerSec: perSecond(COUNT, performance.now() - started), p50ms: p.p50, p99ms: p.p99 };
}

async function timed(run: () => Promise<void>): Promise<Figures> {
  const started = performance.now();
  await run();
  return { eventsPerSec: perSecond(COUNT, performance.now() - started) };
}

async function transportConsume(transport: Transport, topic: string): Promise<void> {
  let handled = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  const sub = await transport.subscribe({ topic, group: "bench", maxInFlight: 64 }, async (m) => {
    await m.ack();
    if (++handled === COUNT) done();
  });
  await all;
  await sub.close();
}

/** Subscribes, then publishes COUNT in batches, and resolves once every one was handled (acked). */
async function transportConsumeLive(transport: Transport, topic: string): Promise<void> {
  let handled = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  const sub = await transport.subscribe({ topic, group: "bench", maxInFlight: 64 }, async (m) => {
    await m.ack();
    if (++handled === COUNT) done();
  });
  for (let i = 0; i < COUNT; i += 500) {
    await transport.publishBatch(
      topic,
      Array.from({ length: Math.min(500, COUNT - i) }, (_, j) => event(i + j)),
    );
  }
  await all;
  await sub.close();
}

async function mqttPeer(topic: string): Promise<Peer> {
  const url = "mqtt://127.0.0.1:1883";
  const publisher = await mqtt.connectAsync(url, { protocolVersion: 5 });
  return {
    publish: async (i) => {
      await publisher.publishAsync(topic, json(i), { qos: 1 });
    },
    consume: async (count) => {
      // A shared subscription at QoS 1, MQTT.js acking each message once the handler has parsed it.
      const subscriber = await mqtt.connectAsync(url, { protocolVersion: 5 });
      let n = 0;
      const all = new Promise<void>((resolve) =>
        subscriber.on("message", (_t, payload) => {
          JSON.parse(payload.toString());
          if (++n === count) resolve();
        }),
      );
      await subscriber.subscribeAsync(`$share/bench/${topic}-consume`, { qos: 1 });
      for (let i = 0; i < count; i += 500) {
        await Promise.all(
          Array.from({ length: Math.min(500, count - i) }, (_, j) =>
            publisher.publishAsync(`${topic}-consume`, json(i + j), { qos: 1 }),
          ),
        );
      }
      await all;
      await subscriber.endAsync();
    },
    close: async () => {
      await publisher.endAsync();
    },
  };
}

async function natsPeer(subject: string): Promise<Peer> {
  const nc = await natsConnect({ servers: "127.0.0.1:4222" });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = `BENCH_RAW_${randomUUID().slice(0, 8)}`;
  await jsm.streams.add({ name: stream, subjects: [subject] });
  return {
    publish: async (i) => {
      await js.publish(subject, json(i));
    },
    consume: async (count) => {
      await jsm.consumers.add(stream, { durable_name: "bench", ack_policy: AckPolicy.Explicit });
      const messages = await (await js.consumers.get(stream, "bench")).consume({ max_messages: 64 });
      let n = 0;
      for await (const m of messages) {
        JSON.parse(m.string());
        m.ack();
        if (++n === count) break;
      }
    },
    close: async () => {
      await jsm.streams.delete(stream);
      await nc.close();
    },
  };
}

async function redisPeer(key: string): Promise<Peer> {
  const redis = new Redis("redis://127.0.0.1:6379");
  return {
    publish: async (i) => {
      await redis.xadd(key, "*", "event", json(i));
    },
    consume: async (count) => {
      await redis.xgroup("CREATE", key, "bench", "0", "MKSTREAM");
      let n = 0;
      while (n < count) {
        const answer = (await redis.xreadgroup(
          "GROUP",
          "bench",
          "c",
          "COUNT",
          64,
          "BLOCK",
          1000,
          "STREAMS",
          key,
          ">",
        )) as Array<[string, Array<[string, string[]]>]> | null;
        const entries = answer?.[0]?.[1] ?? [];
        for (const [, f] of entries) JSON.parse(f[1]!);
        if (entries.length > 0) await redis.xack(key, "bench", ...entries.map(([id]) => id));
        n += entries.length;
      }
    },
    close: async () => {
      await redis.del(key);
      await redis.quit();
    },
  };
}

async function amqpPeer(name: string): Promise<Peer> {
  const connection = await amqp.connect("amqp://guest:guest@127.0.0.1:5672");
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(name, { durable: true, arguments: { "x-queue-type": "quorum" } });
  return {
    publish: (i) =>
      new Promise<void>((resolve, reject) =>
        channel.sendToQueue(name, Buffer.from(json(i)), { persistent: true }, (error: unknown) =>
          error ? reject(error) : resolve(),
        ),
      ),
    consume: async (count) => {
      await channel.prefetch(64);
      let n = 0;
      await new Promise<void>((resolve) => {
        void channel.consume(name, (m) => {
          if (!m) return;
          JSON.parse(m.content.toString());
          channel.ack(m);
          if (++n === count) resolve();
        });
      });
    },
    close: async () => {
      await channel.deleteQueue(name);
      await connection.close();
    },
  };
}

interface EngineResult {
  readonly engine: string;
  readonly publish: { readonly herald: Figures; readonly raw: Figures; readonly heraldOverRaw: number };
  readonly consume: { readonly herald: Figures; readonly raw: Figures; readonly heraldOverRaw: number };
}

async function runEngine(
  engine: string,
  connect: () => Promise<Transport>,
  peer: () => Promise<Peer>,
  cleanup: (topic: string) => Promise<void>,
  live = false,
): Promise<EngineResult | { engine: string; skipped: string }> {
  let transport: Transport;
  try {
    transport = await connect();
  } catch (error) {
    return { engine, skipped: String(error) };
  }
  const topic = `bench-${randomUUID().slice(0, 8)}`;
  const raw = await peer();
  try {
    // Declared before publishing: engines whose groups only see later events (RabbitMQ) need it.
    if (!live)
      await transport
        .subscribe({ topic, group: "bench", maxInFlight: 1 }, async () => {})
        .then((s) => s.close({ drainMs: 0 }));
    const heraldPublish = await publishPhase((i) => transport.publish(topic, event(i)));
    const rawPublish = await publishPhase((i) => raw.publish(i));
    const heraldConsume = await timed(() =>
      live ? transportConsumeLive(transport, `${topic}-consume`) : transportConsume(transport, topic),
    );
    const rawConsume = await timed(() => raw.consume(COUNT));
    const result: EngineResult = {
      engine,
      publish: {
        herald: heraldPublish,
        raw: rawPublish,
        heraldOverRaw: ratio(heraldPublish.eventsPerSec, rawPublish.eventsPerSec),
      },
      consume: {
        herald: heraldConsume,
        raw: rawConsume,
        heraldOverRaw: ratio(heraldConsume.eventsPerSec, rawConsume.eventsPerSec),
      },
    };
    console.log(
      `${engine}: publish ${heraldPublish.eventsPerSec}/s (p50 ${heraldPublish.p50ms} ms, p99 ${heraldPublish.p99ms} ms) vs raw ${rawPublish.eventsPerSec}/s (p50 ${rawPublish.p50ms}, p99 ${rawPublish.p99ms}); ` +
        `consume ${heraldConsume.eventsPerSec}/s vs raw ${rawConsume.eventsPerSec}/s`,
    );
    return result;
  } finally {
    await transport.close();
    await raw.close();
    await cleanup(topic);
  }
}

const results = [
  await runEngine(
    "nats",
    () => connectNatsTransport(),
    () => natsPeer(`bench.raw.${randomUUID().slice(0, 8)}`),
    async (topic) => {
      const nc = await natsConnect({ servers: "127.0.0.1:4222" });
      const jsm = await jetstreamManager(nc);
      const t = await connectNatsTransport({ connection: nc });
      await jsm.streams.delete(t.streamOf(topic)).catch(() => false);
      await jsm.streams.delete(t.deadLetterOf(topic).stream).catch(() => false);
      await nc.close();
    },
  ),
  await runEngine(
    "redis",
    async () => connectRedisTransport(),
    () => redisPeer(`bench:raw:${randomUUID().slice(0, 8)}`),
    async (topic) => {
      const redis = new Redis("redis://127.0.0.1:6379");
      const t = connectRedisTransport({ connection: redis });
      await redis.del(t.streamKeyOf(topic), t.deadLetterKeyOf(topic));
      await redis.quit();
    },
  ),
  await runEngine(
    "amqp",
    () => connectAmqpTransport(),
    () => amqpPeer(`bench.raw.${randomUUID().slice(0, 8)}`),
    async (topic) => {
      const { amqpNames } = await import("@herald/transport-amqp");
      const connection = await amqp.connect("amqp://guest:guest@127.0.0.1:5672");
      const channel = await connection.createChannel();
      const names = amqpNames(topic, "bench");
      await channel.deleteQueue(names.queue);
      await channel.deleteQueue(names.retryQueue);
      await channel.deleteQueue(names.deadLetterQueue);
      await channel.deleteExchange(names.exchange);
      await connection.close();
    },
  ),
  await runEngine(
    "mqtt",
    () => connectMqttTransport({ sessionExpirySeconds: 60 }),
    () => mqttPeer(`bench/raw/${randomUUID().slice(0, 8)}`),
    async () => {},
    true,
  ),
];
console.log(JSON.stringify({ count: COUNT, concurrency: CONCURRENCY, results }));
