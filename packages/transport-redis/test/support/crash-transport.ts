// The transport the SIGKILL test's child process opens (see sigkillUnderLoad).
import { connectRedisTransport, type RedisTransport } from "@herald/transport-redis";
import { url } from "./redis.js";

export const connect = async (): Promise<RedisTransport> => connectRedisTransport({ url });
