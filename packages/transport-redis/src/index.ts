// @herald/transport-redis: the SDK's Transport over Redis Streams.
export { connectRedisTransport, RedisTransport, type RedisTransportOptions } from "./redis-transport.js";
