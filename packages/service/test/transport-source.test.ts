// Transport sources on the real engines (NATS JetStream, RabbitMQ, Redis Streams, MQTT 5), one case list run
// over each: the outcome model (ack; RetryableError → nack with its delay, redelivered; invalid data,
// refused source, unmatched type → dead-lettered at once with the reason, the handler never called),
// over the SDK transport contract. Each case has its own topic. MQTT keys parse (trigger tests); its
// transport is tested on its own branch, injected the same way.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import type { DeadLetterData } from "@herald/protocol";
import { defineEvent, RetryableError, type Transport } from "@herald/sdk";
import {
  createApp,
  DEFAULT_TRANSPORT_GROUP,
  defineEventSource,
  nats,
  type Outcome,
  parseTriggerKey,
  TriggerKeyError,
  triggerKey,
} from "@herald/service";
import { type AmqpTransport, connectAmqpTransport } from "@herald/transport-amqp";
import { connectMqttTransport, type MqttTransport } from "@herald/transport-mqtt";
import { connectNatsTransport, type NatsTransport } from "@herald/transport-nats";
import { connectRedisTransport, type RedisTransport } from "@herald/transport-redis";
import { Type } from "@sinclair/typebox";

type Engine = "nats" | "rabbitmq" | "redis" | "mqtt";
interface EngineUnderTest {
  readonly engine: Engine;
  readonly connect: () => Promise<Transport>;
  readonly deadLetters: (transport: Transport, topic: string) => Promise<CloudEvent[]>;
  /** The trigger key of `topic` for group `group`. */
  readonly key: (topic: string, group: string) => `${Engine}.${string}`;
}

const ENGINES: readonly EngineUnderTest[] = [
  {
    engine: "nats",
    connect: () => connectNatsTransport({ servers: process.env["HERALD_TEST_NATS_URL"] ?? "127.0.0.1:4222" }),
    deadLetters: (t, topic) => (t as NatsTransport).deadLetters(topic),
    key: (topic, group) => `nats.${topic}.${group}` as const,
  },
  {
    engine: "rabbitmq",
    connect: () =>
      connectAmqpTransport({
        url: process.env["HERALD_TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672",
      }),
    deadLetters: (t, topic) => (t as AmqpTransport).deadLetters(topic),
    key: (topic) => `rabbitmq.${topic}` as const,
  },
  {
    engine: "redis",
    connect: async () =>
      connectRedisTransport({ url: process.env["HERALD_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379" }),
    deadLetters: (t, topic) => (t as RedisTransport).deadLetters(topic),
    key: (topic, group) => `redis.${topic}.${group}` as const,
  },
  {
    engine: "mqtt",
    connect: () =>
      connectMqttTransport({ url: process.env["HERALD_TEST_MQTT_URL"] ?? "mqtt://127.0.0.1:1883" }),
    deadLetters: (t, topic) => (t as MqttTransport).deadLetters(topic, DEFAULT_TRANSPORT_GROUP),
    key: (topic) => `mqtt.${topic}` as const,
  },
];

const OrderPlaced = defineEvent({
  type: "order.placed",
  source: "/shop",
  schema: Type.Object({ id: Type.String(), total: Type.Number({ minimum: 0 }) }),
});

/** Resolves when `check` answers a value, polling the engine (dead letters are stored there, not signalled). */
async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function probe(engine: EngineUnderTest): Promise<{ transport?: Transport; problem?: string }> {
  try {
    return { transport: await engine.connect() };
  } catch (error) {
    return { problem: (error as Error).message };
  }
}

for (const engine of ENGINES) {
  const { transport, problem } = await probe(engine);
  if (problem !== undefined && process.env["CI"] === "true")
    throw new Error(`${engine.engine} is required under CI=true and is unreachable: ${problem}`);
  const skip = transport === undefined ? { skip: `${engine.engine} unreachable (${problem})` } : {};

  describe(`transport source: ${engine.engine}`, skip, () => {
    after(async () => {
      await transport?.close();
    });

    it("acks what the handler takes, retries a RetryableError after its delay, dead-letters the rest at once", async () => {
      const t = transport!;
      const topic = `svc-${randomUUID().slice(0, 8)}`;
      const group = "billing";
      const key = engine.key(topic, group);
      const handled: Array<{ id: string; attempt: number }> = [];
      let firstRetry = true;
      let retried!: () => void;
      const retriedOnce = new Promise<void>((resolve) => {
        retried = resolve;
      });
      const app = createApp({
        transports: { [engine.engine]: t },
        logger: { warn: () => undefined, error: () => undefined },
        definitions: [
          defineEventSource({
            trigger: key,
            event: OrderPlaced,
            maxDeliveries: 5,
            authorize: (event) => event.source !== "/intruder",
            handler: async (event, ctx) => {
              if (event.data.id === "retry" && firstRetry) {
                firstRetry = false;
                throw new RetryableError("not yet", { delayMs: 50 });
              }
              handled.push({ id: event.data.id, attempt: ctx.attempt });
              if (event.data.id === "retry") retried();
            },
          }),
        ],
      });
      await app.start();
      try {
        const send = (init: Record<string, unknown>) =>
          t.publish(
            topic,
            new CloudEvent({ id: randomUUID(), source: "/shop", type: OrderPlaced.type, ...init }),
          );
        await send({ data: { id: "ok", total: 3 } });
        await send({ data: { id: "retry", total: 1 } });
        await send({ data: { id: "bad", total: -1 } });
        await send({ source: "/intruder", data: { id: "intruder", total: 1 } });
        await send({ type: "order.cancelled", data: { id: "other" } });
        await retriedOnce;

        const letters = await eventually(async () => {
          const found = await engine.deadLetters(t, topic);
          return found.length >= 3 ? found : undefined;
        }, "three dead letters");
        const byId = new Map(
          letters.map((l) => {
            const data = l.data as DeadLetterData & { consumer: string };
            return [(data.event.data as { id: string }).id, data];
          }),
        );
        assert.deepEqual([...byId.keys()].sort(), ["bad", "intruder", "other"]);
        for (const data of byId.values()) {
          assert.equal(data.attempts, 1, "dead-lettered at the first delivery, not after maxDeliveries");
          assert.equal(data.reason, "non-retryable");
          // rabbitmq.<queue> and mqtt.<topic> name no group: the members share the app's default one.
          const named = engine.engine === "nats" || engine.engine === "redis";
          assert.equal(data.consumer, named ? group : DEFAULT_TRANSPORT_GROUP);
        }
        assert.match(byId.get("bad")!.lastError, /total/);
        assert.match(byId.get("intruder")!.lastError, /may not emit/);
        assert.match(byId.get("other")!.lastError, /no definition/);

        assert.deepEqual(
          handled.map((h) => h.id).sort(),
          ["ok", "retry"],
          "the handler saw only the valid, authorized events",
        );
        assert.equal(handled.find((h) => h.id === "retry")!.attempt, 2, "redelivered after the nack");
        const outcome = (o: Outcome) => app.outcomes.get(key, o);
        assert.deepEqual(
          ["handled", "failed", "invalid", "refused", "unmatched"].map((o) => outcome(o as Outcome)),
          [2, 1, 1, 1, 1],
        );
      } finally {
        await app.stop();
      }
    });
  });
}

describe("transport sources: wiring", () => {
  it("an app without the engine's transport fails at construction, naming the key", () => {
    assert.throws(
      () =>
        createApp({
          definitions: [
            defineEventSource({ trigger: "nats.orders.placed.billing", handler: () => undefined }),
          ],
        }),
      /nats\.orders\.placed\.billing needs a nats transport/,
    );
  });
});

describe("transport trigger keys", () => {
  it("parse and print: the last dot splits a NATS subject or Redis stream from the group", () => {
    const cases: Array<[string, { engine: string; topic: string; group: string }]> = [
      ["nats.orders.placed.billing", { engine: "nats", topic: "orders.placed", group: "billing" }],
      ["redis.orders.billing", { engine: "redis", topic: "orders", group: "billing" }],
      [
        "rabbitmq.orders.placed",
        { engine: "rabbitmq", topic: "orders.placed", group: DEFAULT_TRANSPORT_GROUP },
      ],
      [
        "mqtt.factory/+/temperature",
        { engine: "mqtt", topic: "factory/+/temperature", group: DEFAULT_TRANSPORT_GROUP },
      ],
    ];
    for (const [key, expected] of cases) {
      const trigger = parseTriggerKey(key);
      assert.deepEqual(trigger, { kind: "transport", ...expected });
      assert.equal(triggerKey(trigger), key);
    }
    assert.deepEqual(nats("a.b", "g"), parseTriggerKey("nats.a.b.g"));
    for (const bad of ["nats.orders", "nats.orders.", "redis.", "rabbitmq.", "mqtt.", "kafka.orders"])
      assert.throws(() => parseTriggerKey(bad), TriggerKeyError, bad);
  });
});
