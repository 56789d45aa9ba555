// @herald/transport-amqp: the SDK's Transport over RabbitMQ (AMQP 0-9-1).
export {
  type AmqpMessage,
  type AmqpNames,
  AmqpTransport,
  type AmqpTransportOptions,
  amqpMessage,
  amqpNames,
  connectAmqpTransport,
  DELIVERIES_HEADER,
} from "./amqp-transport.js";
