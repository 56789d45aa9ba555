// The Redis the tests use: 127.0.0.1:6379 (HERALD_TEST_REDIS_URL overrides it). Without a reachable
// server the tests skip locally, but fail under CI=true.
import { Redis } from "ioredis";

export const url = process.env["HERALD_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379";

async function probe(): Promise<string | undefined> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000 });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    redis.disconnect();
  }
}

const problem = await probe();
if (problem !== undefined && process.env["CI"] === "true")
  throw new Error(`Redis is required under CI=true and is unreachable: ${problem}`);

export const redisUp = problem === undefined;
/** `{ skip }` for node:test when Redis is unreachable (never under CI=true). */
export const needsRedis: { skip?: string } = redisUp ? {} : { skip: `Redis unreachable (${problem})` };
