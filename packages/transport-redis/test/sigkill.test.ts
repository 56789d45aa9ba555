// A process publishing and consuming through the Redis transport is killed with SIGKILL: nothing it
// saw acknowledged is lost, and every event is consumed at least once (XAUTOCLAIM takes over what the
// dead member held).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { sigkillUnderLoad } from "@herald/sdk/testing";
import { connectRedisTransport } from "@herald/transport-redis";
import { Redis } from "ioredis";
import { needsRedis, url } from "./support/redis.js";

test(
  "SIGKILL under load: every acknowledged publish is stored and consumed at least once",
  needsRedis,
  async () => {
    const topic = `kill-${randomUUID().slice(0, 8)}`;
    try {
      const result = await sigkillUnderLoad({
        childModule: new URL("./support/crash-transport.js", import.meta.url).href,
        connect: async () => connectRedisTransport({ url }),
        topic,
      });
      assert.ok(result.published >= 400);
    } finally {
      const redis = new Redis(url);
      const keys = connectRedisTransport({ connection: redis });
      await redis.del(keys.streamKeyOf(topic), keys.deadLetterKeyOf(topic));
      await redis.quit();
    }
  },
);
