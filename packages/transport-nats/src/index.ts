// @herald/transport-nats: the SDK's Transport over NATS JetStream.
export {
  connectNatsTransport,
  defaultStreamName,
  NatsTransport,
  type NatsTransportOptions,
} from "./nats-transport.js";
