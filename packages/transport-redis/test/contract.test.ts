// The transport contract against the real Redis (each case its own stream keys, deleted afterwards).
import { after, test } from "node:test";
import { decodeJsonEventObject } from "@herald/cloudevents";
import type { DeadLetterData } from "@herald/protocol";
import { EngineProcess, type StoredDeadLetter, transportContract } from "@herald/sdk/testing";
import { connectRedisTransport, type RedisTransport } from "@herald/transport-redis";
import { Redis } from "ioredis";
import { needsRedis, redisUp, url } from "./support/redis.js";

const topics: string[] = [];

after(async () => {
  if (!redisUp || topics.length === 0) return;
  const redis = new Redis(url);
  const keys = connectRedisTransport({ connection: redis });
  for (const topic of topics) await redis.del(keys.streamKeyOf(topic), keys.deadLetterKeyOf(topic));
  await redis.quit();
});

if (redisUp)
  transportContract(
    "redis",
    {
      connect: async (mode) => connectRedisTransport({ url, ...(mode ? { contentMode: mode } : {}) }),
      topic: (token) => {
        const topic = `ct-${token}`;
        topics.push(topic);
        return topic;
      },
      // A redis-server of the case's own without persistence: a restart empties it (groups included).
      restartable: async () => {
        const engine = await EngineProcess.start({
          name: "redis",
          command: "redis-server",
          args: (port, dir) => [
            "--port",
            String(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            dir,
          ],
        });
        return {
          connect: async (mode) =>
            connectRedisTransport({
              url: `redis://127.0.0.1:${engine.port}`,
              ...(mode ? { contentMode: mode } : {}),
            }),
          restart: () => engine.restart(),
          stop: () => engine.stop(),
        };
      },
      deadLetters: async (transport, topic, group): Promise<StoredDeadLetter[]> => {
        const letters = await (transport as RedisTransport).deadLetters(topic);
        return letters
          .map((l) => l.data as DeadLetterData & { consumer: string })
          .filter((d) => d.consumer === group)
          .map((d) => ({
            event: decodeJsonEventObject(d.event),
            reason: d.reason,
            attempts: d.attempts,
            lastError: d.lastError,
          }));
      },
    },
    {
      keyOrdering: false,
      nackDelay: true,
      deadLetter: true,
      contentModes: true,
      ackTimeout: true,
      newGroupsGetHistory: true,
      reconnect: true,
    },
  );
else test("Transport contract: redis", needsRedis, () => {});
