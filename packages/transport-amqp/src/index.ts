// @herald/transport-amqp: the SDK's Transport over RabbitMQ (AMQP 0-9-1).
export {
  type AmqpNames,
  AmqpTransport,
  type AmqpTransportOptions,
  amqpNames,
  connectAmqpTransport,
  DELIVERIES_HEADER,
} from "./amqp-transport.js";
