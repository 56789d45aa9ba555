// Transports benchmark: for each engine on this machine, the Herald transport beside the engine's own
// client doing the same work, in the same run.
//   Same work: both sides encode each event with the same CloudEvents binding (binary mode) on
//   publish and decode it on receipt; both await the engine's acknowledgement of every publish
//   (PubAck, XADD reply, publisher confirm, PUBACK) with CONCURRENCY publishes awaited at once; both
//   ack every message they consume, with the same prefetch / pull size (64, Herald's maxInFlight).
//   publish: COUNT single-event publishes: events/s and latency p50/p99 (ms) per side.
//   consume: COUNT stored events, one member acking each: events/s from subscribing to the last ack,
//            and "steady" events/s from the first message to the last ack (without the member's
//            setup: declaring a group, connecting); per-message latency of a backlog means nothing. MQTT keeps nothing for a group that has no
//            member connected (Mosquitto queues at most 1 000 messages for an offline session): its
//            consume phase subscribes first, then publishes COUNT and waits until every one is handled,
//            for both sides alike.
// Fairness: one warm-up round per side (not recorded), then ROUNDS rounds whose order alternates
// (Herald first, then the raw client first, …); a ratio is Herald's rate over the raw client's within
// one round, and the figures reported are each one's median over the rounds. Engines that are down
// are skipped.
// Usage: node bench/dist/transports.js [--quick] [--count N] [--rounds N] [--engines nats,redis,amqp,mqtt]
//   (COUNT 20 000, --quick 2 000; ROUNDS 3)
// Last line of output: one JSON object with every figure.
import { randomUUID } from "node:crypto";
import {
  CloudEvent,
  decodeAmqp,
  decodeMqtt,
  decodeNats,
  encodeAmqp,
  encodeMqtt5,
  encodeNats,
} from "@herald/cloudevents";
import type { Transport } from "@herald/sdk";
import { amqpNames, connectAmqpTransport } from "@herald/transport-amqp";
import { connectMqttTransport } from "@herald/transport-mqtt";
import { connectNatsTransport } from "@herald/transport-nats";
import { connectRedisTransport } from "@herald/transport-redis";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders, connect as natsConnect } from "@nats-io/transport-node";
import amqp from "amqplib";
import { Redis } from "ioredis";
import mqtt from "mqtt";
import { perSecond, percentiles, ratio } from "./lib/log-stats.js";

const argValue = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
};
const QUICK = process.argv.includes("--quick");
const COUNT = Number(argValue("--count") ?? (QUICK ? 2_000 : 20_000));
const ROUNDS = Number(argValue("--rounds") ?? 3);
const WARMUP = Math.min(COUNT, 2_000);
const ENGINES = (argValue("--engines") ?? "nats,redis,amqp,mqtt").split(",");
const CONCURRENCY = 32;
const PREFETCH = 64;

interface Figures {
  readonly eventsPerSec: number;
  /** Consume only: from the first message to the last ack (without subscribing, the member's setup). */
  readonly steadyPerSec?: number;
  readonly p50ms?: number;
  readonly p99ms?: number;
}

/** One side of a comparison: the Herald transport or the engine's own client. */
interface Side {
  publish(i: number): Promise<void>;
  /** Consumes `count` events (stored before, or published by itself when live), acking each. */
  consume(count: number, firstIndex: number): Promise<void>;
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

async function publishPhase(count: number, publish: (i: number) => Promise<void>): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await publish(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const p = percentiles(latencies);
  return { eventsPerSec: perSecond(count, performance.now() - started), p50ms: p.p50, p99ms: p.p99 };
}

/** When the consume phase under way saw its first message (set by every side's per-message code). */
let firstAt: number | undefined;
const seen = () => {
  firstAt ??= performance.now();
};

async function consumePhase(count: number, consume: () => Promise<void>): Promise<Figures> {
  firstAt = undefined;
  const started = performance.now();
  await consume();
  const ended = performance.now();
  return {
    eventsPerSec: perSecond(count, ended - started),
    steadyPerSec: perSecond(count - 1, ended - (firstAt ?? started)),
  };
}

function counter(count: number): { tick: () => void; all: Promise<void> } {
  let handled = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  return { tick: () => (++handled === count ? done() : undefined), all };
}

/** The Herald side: publish one by one; consume as one member with maxInFlight PREFETCH, acking each. */
function heraldSide(transport: Transport, topic: string, live: boolean): Side {
  return {
    publish: (i) => transport.publish(topic, event(i)),
    consume: async (count, first) => {
      const consumeTopic = live ? `${topic}-consume` : topic;
      const { tick, all } = counter(count);
      const sub = await transport.subscribe(
        { topic: consumeTopic, group: "bench", maxInFlight: PREFETCH },
        async (m) => {
          seen();
          await m.ack();
          tick();
        },
      );
      if (live) await publishLive(count, first, (i) => transport.publish(consumeTopic, event(i)));
      await all;
      await sub.close();
    },
    close: () => transport.close(),
  };
}

/** Publishes count events, 500 awaited at a time (both sides of the MQTT consume phase). */
async function publishLive(count: number, first: number, publish: (i: number) => Promise<void>) {
  for (let i = 0; i < count; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, count - i) }, (_, j) => publish(first + i + j)));
  }
}

function natsHeaderRecord(h: { keys(): string[]; get(k: string): string } | undefined) {
  const out: Record<string, string> = {};
  if (h) for (const key of h.keys()) out[key] = h.get(key);
  return out;
}

async function natsRaw(): Promise<Side> {
  const subject = `bench.raw.${randomUUID().slice(0, 8)}`;
  const nc = await natsConnect({ servers: "127.0.0.1:4222" });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = `BENCH_RAW_${randomUUID().slice(0, 8)}`;
  await jsm.streams.add({ name: stream, subjects: [subject] });
  await jsm.consumers.add(stream, {
    durable_name: "bench",
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
  });
  return {
    publish: async (i) => {
      const e = event(i);
      const message = encodeNats(e, "binary", { withHeaders: true });
      const h = natsHeaders();
      for (const [name, value] of Object.entries(message.headers ?? {})) h.set(name, value);
      await js.publish(subject, message.data, { headers: h, msgID: `${e.source} ${e.id}` });
    },
    consume: async (count) => {
      const messages = await (await js.consumers.get(stream, "bench")).consume({ max_messages: PREFETCH });
      let n = 0;
      for await (const m of messages) {
        seen();
        decodeNats({ headers: natsHeaderRecord(m.headers), data: m.data });
        m.ack();
        if (++n === count) break;
      }
      await nc.flush();
    },
    close: async () => {
      await jsm.streams.delete(stream);
      await nc.close();
    },
  };
}

function redisFields(e: CloudEvent): Array<string | Buffer> {
  const message = encodeNats(e, "binary", { withHeaders: true });
  const out: Array<string | Buffer> = [];
  for (const [name, value] of Object.entries(message.headers ?? {})) out.push(name, value);
  out.push("data", typeof message.data === "string" ? message.data : Buffer.from(message.data));
  return out;
}

function redisDecode(f: readonly Buffer[]): CloudEvent {
  const headers: Record<string, string> = {};
  let data: Uint8Array = new Uint8Array();
  for (let i = 0; i + 1 < f.length; i += 2) {
    const name = f[i]!.toString();
    if (name === "data") data = new Uint8Array(f[i + 1]!);
    else headers[name] = f[i + 1]!.toString();
  }
  return decodeNats({ headers, data });
}

async function redisRaw(): Promise<Side> {
  const key = `bench:raw:${randomUUID().slice(0, 8)}`;
  const redis = new Redis("redis://127.0.0.1:6379");
  const blocking = redis.duplicate();
  await redis.xgroup("CREATE", key, "bench", "0", "MKSTREAM");
  return {
    publish: async (i) => {
      await redis.xadd(key, "*", ...redisFields(event(i)));
    },
    consume: async (count) => {
      let n = 0;
      while (n < count) {
        const answer = (await blocking.callBuffer(
          "XREADGROUP",
          "GROUP",
          "bench",
          "c",
          "COUNT",
          PREFETCH,
          "BLOCK",
          250,
          "STREAMS",
          key,
          ">",
        )) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
        const entries = answer?.[0]?.[1] ?? [];
        if (entries.length > 0) seen();
        for (const [, f] of entries) redisDecode(f);
        if (entries.length > 0) await redis.xack(key, "bench", ...entries.map(([id]) => id.toString()));
        n += entries.length;
      }
    },
    close: async () => {
      await redis.del(key);
      blocking.disconnect();
      await redis.quit();
    },
  };
}

async function amqpRaw(): Promise<Side> {
  const name = `bench.raw.${randomUUID().slice(0, 8)}`;
  const connection = await amqp.connect("amqp://guest:guest@127.0.0.1:5672");
  const confirm = await connection.createConfirmChannel();
  await confirm.assertExchange(name, "fanout", { durable: true });
  await confirm.assertQueue(name, { durable: true, arguments: { "x-queue-type": "quorum" } });
  await confirm.bindQueue(name, name, "");
  return {
    publish: (i) => {
      const message = encodeAmqp(event(i), "binary");
      const headers: Record<string, unknown> = {};
      for (const [h, value] of Object.entries(message.applicationProperties))
        headers[h] = value instanceof Uint8Array ? Buffer.from(value) : value;
      const body = message.body === null ? Buffer.alloc(0) : Buffer.from(message.body);
      return new Promise<void>((resolve, reject) =>
        confirm.publish(
          name,
          "",
          body,
          {
            persistent: true,
            headers,
            ...(message.contentType === undefined ? {} : { contentType: message.contentType }),
          },
          (error: unknown) => (error ? reject(error) : resolve()),
        ),
      );
    },
    consume: async (count) => {
      const channel = await connection.createChannel();
      await channel.prefetch(PREFETCH);
      let n = 0;
      await new Promise<void>((resolve) => {
        void channel.consume(name, (m) => {
          if (!m) return;
          seen();
          const applicationProperties: Record<string, string | number | boolean | Uint8Array> = {};
          for (const [h, value] of Object.entries(m.properties.headers ?? {}))
            if (h.startsWith("cloudEvents")) applicationProperties[h] = value as string;
          decodeAmqp({
            ...(typeof m.properties.contentType === "string"
              ? { contentType: m.properties.contentType }
              : {}),
            applicationProperties,
            body: m.content,
          });
          channel.ack(m);
          if (++n === count) resolve();
        });
      });
      await channel.close();
    },
    close: async () => {
      await confirm.deleteQueue(name);
      await confirm.deleteExchange(name);
      await connection.close();
    },
  };
}

async function mqttRaw(): Promise<Side> {
  const topic = `bench/raw/${randomUUID().slice(0, 8)}`;
  const url = "mqtt://127.0.0.1:1883";
  const publisher = await mqtt.connectAsync(url, { protocolVersion: 5 });
  const send = (t: string, i: number) => {
    const message = encodeMqtt5(event(i), "binary");
    const payload = typeof message.payload === "string" ? message.payload : Buffer.from(message.payload);
    return publisher.publishAsync(t, payload, { qos: 1, properties: { ...message.properties } });
  };
  return {
    publish: async (i) => {
      await send(topic, i);
    },
    consume: async (count, first) => {
      // A shared subscription at QoS 1; MQTT.js sends each PUBACK once the handler has decoded it.
      // receiveMaximum: the broker sends at most PREFETCH unacknowledged messages, as to Herald's member.
      const subscriber = await mqtt.connectAsync(url, {
        protocolVersion: 5,
        properties: { receiveMaximum: PREFETCH },
      });
      const { tick, all } = counter(count);
      subscriber.on("message", (_t, payload, packet) => {
        seen();
        decodeMqtt({ payload, properties: packet.properties ?? {} });
        tick();
      });
      await subscriber.subscribeAsync(`$share/bench/${topic}-consume`, { qos: 1 });
      await publishLive(count, first, (i) => send(`${topic}-consume`, i).then(() => undefined));
      await all;
      await subscriber.endAsync();
    },
    close: async () => {
      await publisher.endAsync();
    },
  };
}

interface PhaseResult {
  readonly herald: Figures;
  readonly raw: Figures;
  /** Median over the rounds of Herald's rate / the raw client's rate in the same round. */
  readonly heraldOverRaw: number;
  readonly ratios: readonly number[];
  /** Consume only: the same, of the steady rates (first message to last ack). */
  readonly steadyHeraldOverRaw?: number;
  readonly steadyRatios?: readonly number[];
}

interface EngineResult {
  readonly engine: string;
  readonly publish: PhaseResult;
  readonly consume: PhaseResult;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function medianFigures(all: readonly Figures[]): Figures {
  const out: { eventsPerSec: number; steadyPerSec?: number; p50ms?: number; p99ms?: number } = {
    eventsPerSec: median(all.map((f) => f.eventsPerSec)),
  };
  if (all[0]?.steadyPerSec !== undefined) out.steadyPerSec = median(all.map((f) => f.steadyPerSec ?? 0));
  if (all[0]?.p50ms !== undefined) {
    out.p50ms = median(all.map((f) => f.p50ms ?? 0));
    out.p99ms = median(all.map((f) => f.p99ms ?? 0));
  }
  return out;
}

async function runEngine(
  engine: string,
  connect: () => Promise<Transport>,
  raw: () => Promise<Side>,
  cleanup: (topic: string) => Promise<void>,
  live = false,
): Promise<EngineResult | { engine: string; skipped: string }> {
  let transport: Transport;
  let rawSide: Side;
  try {
    transport = await connect();
    rawSide = await raw();
  } catch (error) {
    return { engine, skipped: String(error) };
  }
  const topic = `bench-${randomUUID().slice(0, 8)}`;
  const herald = heraldSide(transport, topic, live);
  const sides = { herald, raw: rawSide };
  let index = 0;
  try {
    // Declared before publishing: engines whose groups only see later events (RabbitMQ) need it.
    if (!live)
      await transport
        .subscribe({ topic, group: "bench", maxInFlight: 1 }, async () => {})
        .then((s) => s.close({ drainMs: 0 }));
    const round = async (count: number, order: ReadonlyArray<"herald" | "raw">) => {
      const figures: Record<string, { publish: Figures; consume: Figures }> = {};
      const published: Record<string, Figures> = {};
      for (const name of order) {
        const first = index;
        index += count;
        published[name] = await publishPhase(count, (i) => sides[name].publish(first + i));
      }
      for (const name of order) {
        const first = index;
        if (live) index += count;
        figures[name] = {
          publish: published[name]!,
          consume: await consumePhase(count, () => sides[name].consume(count, first)),
        };
      }
      return figures as Record<"herald" | "raw", { publish: Figures; consume: Figures }>;
    };
    await round(WARMUP, ["herald", "raw"]);
    const rounds: Array<Record<"herald" | "raw", { publish: Figures; consume: Figures }>> = [];
    for (let r = 0; r < ROUNDS; r++) {
      const result = await round(COUNT, r % 2 === 0 ? ["herald", "raw"] : ["raw", "herald"]);
      rounds.push(result);
      console.log(
        `  ${engine} round ${r + 1}: publish ${result.herald.publish.eventsPerSec} vs ${result.raw.publish.eventsPerSec}/s, ` +
          `consume ${result.herald.consume.eventsPerSec} vs ${result.raw.consume.eventsPerSec}/s ` +
          `(steady ${result.herald.consume.steadyPerSec} vs ${result.raw.consume.steadyPerSec}/s)`,
      );
    }
    const phase = (p: "publish" | "consume"): PhaseResult => {
      const ratios = rounds.map((r) => ratio(r.herald[p].eventsPerSec, r.raw[p].eventsPerSec));
      const result: PhaseResult = {
        herald: medianFigures(rounds.map((r) => r.herald[p])),
        raw: medianFigures(rounds.map((r) => r.raw[p])),
        heraldOverRaw: median(ratios),
        ratios,
      };
      if (p === "publish") return result;
      const steadyRatios = rounds.map((r) =>
        ratio(r.herald[p].steadyPerSec ?? 0, r.raw[p].steadyPerSec ?? 0),
      );
      return { ...result, steadyHeraldOverRaw: median(steadyRatios), steadyRatios };
    };
    return { engine, publish: phase("publish"), consume: phase("consume") };
  } finally {
    await herald.close();
    await rawSide.close();
    await cleanup(topic);
  }
}

const runs: Record<string, () => Promise<EngineResult | { engine: string; skipped: string }>> = {
  nats: () =>
    runEngine(
      "nats",
      () => connectNatsTransport(),
      natsRaw,
      async (topic) => {
        const nc = await natsConnect({ servers: "127.0.0.1:4222" });
        const jsm = await jetstreamManager(nc);
        const t = await connectNatsTransport({ connection: nc });
        await jsm.streams.delete(t.streamOf(topic)).catch(() => false);
        await jsm.streams.delete(t.deadLetterOf(topic).stream).catch(() => false);
        await nc.close();
      },
    ),
  redis: () =>
    runEngine(
      "redis",
      async () => connectRedisTransport(),
      redisRaw,
      async (topic) => {
        const redis = new Redis("redis://127.0.0.1:6379");
        const t = connectRedisTransport({ connection: redis });
        await redis.del(t.streamKeyOf(topic), t.deadLetterKeyOf(topic));
        await redis.quit();
      },
    ),
  amqp: () =>
    runEngine(
      "amqp",
      () => connectAmqpTransport(),
      amqpRaw,
      async (topic) => {
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
  mqtt: () =>
    runEngine(
      "mqtt",
      () => connectMqttTransport({ sessionExpirySeconds: 60 }),
      mqttRaw,
      async () => {},
      true,
    ),
};

const results: Array<EngineResult | { engine: string; skipped: string }> = [];
for (const engine of ENGINES) {
  const run = runs[engine];
  if (run) results.push(await run());
}
const fmt = (f: Figures) =>
  `${String(f.eventsPerSec).padStart(7)}/s${f.p50ms === undefined ? "" : ` p50 ${f.p50ms} p99 ${f.p99ms} ms`}${f.steadyPerSec === undefined ? "" : ` (steady ${f.steadyPerSec}/s)`}`;
console.log(`count ${COUNT}, ${ROUNDS} rounds (median), concurrency ${CONCURRENCY}, prefetch ${PREFETCH}`);
console.log(
  "engine  phase    herald                                raw                                   herald/raw",
);
for (const r of results) {
  if ("skipped" in r) {
    console.log(`${r.engine.padEnd(7)} skipped: ${r.skipped}`);
    continue;
  }
  for (const p of ["publish", "consume"] as const)
    console.log(
      `${r.engine.padEnd(7)} ${p.padEnd(8)} ${fmt(r[p].herald).padEnd(37)} ${fmt(r[p].raw).padEnd(37)} ${r[p].heraldOverRaw} (${r[p].ratios.join(", ")})` +
        (r[p].steadyRatios === undefined
          ? ""
          : `; steady ${r[p].steadyHeraldOverRaw} (${r[p].steadyRatios!.join(", ")})`),
    );
}
console.log(
  JSON.stringify({ count: COUNT, rounds: ROUNDS, concurrency: CONCURRENCY, prefetch: PREFETCH, results }),
);
