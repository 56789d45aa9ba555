// @herald/service: declare each event once (trigger, handler, schemas, authorization), in TypeScript
// or YAML, and run it from HTTP, WebSocket, cron, Herald subscription and transport (NATS, RabbitMQ,
// Redis Streams, MQTT) sources.
export { App, type AppOptions, createApp } from "./app.js";
export { ANONYMOUS, type ApiKeyEntry, type AuthOptions, Authenticator, type JwtOptions } from "./auth.js";
export {
  type AsyncDefinition,
  type AsyncInvalidDecision,
  type AsyncInvalidHook,
  type AuthRequirement,
  type CronDefinition,
  type CronDelivery,
  type CronEventSpec,
  type CronFiring,
  defineEventSource,
  type EventAuthorize,
  type EventSourceDefinition,
  type HeraldDefinition,
  type HeraldEventSpec,
  type HttpAnswer,
  type HttpDefinition,
  type HttpEventSpec,
  type HttpInput,
  type HttpInputSchemas,
  type HttpInvalidHook,
  type InputError,
  type InvalidHooks,
  type WsInvalidAnswer,
  type WsInvalidHook,
  type HttpOutputSchemas,
  type Principal,
  type SourceContext,
  type TransportDefinition,
  type TransportEventSpec,
  type TypedHttpAnswer,
  type WsDefinition,
  type WsEventSpec,
} from "./definition.js";
export { type Outcome, Outcomes, type ServiceLogger, stderrLogger } from "./outcomes.js";
export {
  type Clock,
  CRON_FIRED_TYPE,
  CronJob,
  type CronState,
  cronFiringEvent,
  cronFiringId,
  cronSource,
  MemoryCronState,
  StreamCronState,
  systemClock,
} from "./sources/cron.js";
export { type AppTransports, TransportSource } from "./sources/transport.js";
export { asyncHandler, EventRefusedError, UnmatchedEventError } from "./sources/async-handler.js";
export { problemBody, SourceProblem } from "./problem.js";
export { compileSchema, type JsonSchema, type Validator } from "./schema.js";
export {
  type CronTrigger,
  cron,
  DEFAULT_TRANSPORT_GROUP,
  type HeraldTrigger,
  HTTP_METHODS,
  type HttpMethod,
  type HttpTrigger,
  herald,
  http,
  mqtt,
  nats,
  parseTriggerKey,
  pathMatcher,
  pathParameters,
  rabbitmq,
  redis,
  TRANSPORT_ENGINES,
  type TransportEngine,
  type TransportTrigger,
  type Trigger,
  TriggerKeyError,
  triggerKey,
  type WsTrigger,
  ws,
} from "./trigger.js";
export { EventFileError, loadEventDefinitions, loadEventFile } from "./yaml.js";
export { asyncApiDocument, binaryHeaders, structuredEnvelope } from "./docs/asyncapi.js";
export { type DocumentInfo, type OpenApiOptions, openApiDocument, openApiPath } from "./docs/openapi.js";
