// @herald/cloudevents: CloudEvents 1.0 event model, validation, JSON format and protocol bindings.
export {
  CloudEventDecodeError,
  type CloudEventDecodeReason,
  CloudEventError,
  CloudEventValidationError,
  type ValidationIssue,
} from "./errors.js";
export {
  CloudEvent,
  type CloudEventInit,
  createDecodedEvent,
  createTrustedEvent,
  validateCloudEvent,
  validateDecodedEvent,
} from "./event.js";
export { generateEventId } from "./event-id.js";
export * from "./extensions.js";
export {
  decodeJsonBatch,
  decodeJsonBatchArray,
  decodeJsonEvent,
  decodeJsonEventObject,
  decodeTrustedJsonEvent,
  encodeJsonBatch,
  encodeJsonEvent,
} from "./json-format.js";
export {
  CLOUDEVENTS_BATCH_JSON,
  CLOUDEVENTS_JSON,
  isJsonMediaType,
  mediaTypeEssence,
  mediaTypeParameter,
} from "./media-type.js";
export {
  INT32_MAX,
  INT32_MIN,
  isAbsoluteUri,
  isCeString,
  isInt32,
  isMediaType,
  isTimestamp,
  isUriReference,
  RECOMMENDED_MAX_NAME_LENGTH,
} from "./type-system.js";
export { CORE_ATTRIBUTES, type ExtensionValue } from "./validate.js";
export { canonicalString } from "./bindings/common.js";
export { decodeHeaderValue, encodeHeaderValue } from "./bindings/header-value.js";
export {
  decodeHttp,
  detectHttpMode,
  encodeHttp,
  encodeHttpBatch,
  type HttpContentMode,
  type HttpDetectedMode,
  type HttpHeadersInput,
  type HttpMessage,
  type HttpMessageInput,
} from "./bindings/http.js";
export {
  type AmqpMessage,
  type AmqpMessageInput,
  type AmqpValue,
  decodeAmqp,
  encodeAmqp,
} from "./bindings/amqp.js";
export {
  decodeKafka,
  encodeKafka,
  type KafkaEncodeOptions,
  type KafkaHeaderValue,
  type KafkaMessage,
  type KafkaMessageInput,
} from "./bindings/kafka.js";
export {
  decodeMqtt,
  encodeMqtt3,
  encodeMqtt5,
  type MqttMessage,
  type MqttMessageInput,
} from "./bindings/mqtt.js";
export { decodeNats, encodeNats, type NatsMessage, type NatsMessageInput } from "./bindings/nats.js";
export {
  chooseWebSocketSubprotocol,
  decodeWebSocket,
  encodeWebSocket,
  WEBSOCKET_JSON_SUBPROTOCOL,
} from "./bindings/websocket.js";
export * from "./cesql/index.js";
