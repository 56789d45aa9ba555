// @herald/transport-mqtt: the SDK's Transport over MQTT 5.
export {
  connectMqttTransport,
  DELIVERIES_PROPERTY,
  MqttTransport,
  type MqttTransportOptions,
  NOT_BEFORE_PROPERTY,
} from "./mqtt-transport.js";
