// The engines the bridge tests use (the machine's services; HERALD_TEST_*_URL override them). An engine
// that is unreachable skips its tests locally, and fails them under CI=true.
import { connect as natsConnect } from "@nats-io/transport-node";
import amqp from "amqplib";
import { Redis } from "ioredis";
import mqtt from "mqtt";

export const NATS = process.env["HERALD_TEST_NATS_URL"] ?? "127.0.0.1:4222";
export const AMQP = process.env["HERALD_TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672";
export const REDIS = process.env["HERALD_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379";
export const MQTT = process.env["HERALD_TEST_MQTT_URL"] ?? "mqtt://127.0.0.1:1883";

async function probe(open: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await open();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const problems = {
  nats: await probe(async () => (await natsConnect({ servers: NATS, timeout: 2_000 })).close()),
  amqp: await probe(async () => (await amqp.connect(AMQP)).close()),
  redis: await probe(async () => {
    const redis = new Redis(REDIS, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000 });
    redis.on("error", () => undefined);
    try {
      await redis.connect();
      await redis.ping();
    } finally {
      redis.disconnect();
    }
  }),
  mqtt: await probe(async () => {
    const client = await mqtt.connectAsync(MQTT, { connectTimeout: 2_000, reconnectPeriod: 0 }, false);
    await client.endAsync();
  }),
};

function needs(engine: keyof typeof problems): { skip?: string } {
  const problem = problems[engine];
  if (problem === undefined) return {};
  if (process.env["CI"] === "true")
    throw new Error(`${engine} is required under CI=true and is unreachable: ${problem}`);
  return { skip: `${engine} unreachable (${problem})` };
}

export const needsNats = needs("nats");
export const needsAmqp = needs("amqp");
export const needsRedis = needs("redis");
export const needsMqtt = needs("mqtt");

/** A name no other test uses. */
export function unique(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
