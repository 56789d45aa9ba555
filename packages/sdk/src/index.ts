// @herald/sdk: client, consumers, Receiver, Router with middleware, typed events, tracing.
export { type BackoffOptions, backoffDelay, defaultBackoff, sleep } from "./backoff.js";
export {
  type CallOptions,
  type EventInput,
  type EventsOptions,
  HeraldClient,
  type HeraldClientOptions,
  type MustExistOptions,
  type PublishOptions,
} from "./client/client.js";
export type {
  AppendOptions,
  ExpectedVersion,
  RetryPolicy,
  SendOptions,
} from "./client/publisher.js";
export {
  type DeliverySettings,
  deliverySettings,
  type OnSubscriptionDifference,
  type PulledMessage,
  type Subscription,
  type SubscriptionInit,
  subscriptionDifferences,
} from "./client/subscription-types.js";
// The HTTP API's wire types, as @herald/protocol declares them (never re-declared here).
export type {
  AckResponse,
  CancelScheduledQuery,
  DeadLetterReason,
  DeadLetterRecord,
  DeadLettersQuery,
  DeadLettersResponse,
  HealthResponse,
  IndexLinks,
  IndexResponse,
  JsonEventObject,
  ListScheduledQuery,
  ListScheduledResponse,
  ListStreamsQuery,
  ListStreamsResponse,
  LogEntry,
  NackResponse,
  ProblemCode,
  ProblemDetails,
  ProblemFieldError,
  ReadDirection,
  ReadEventsQuery,
  ReadEventsResponse,
  ReadStreamQuery,
  ReadStreamResponse,
  ReadyResponse,
  RedriveRequest,
  RedriveResponse,
  ResetRequest,
  ResetResponse,
  ScheduledEntry,
  StreamSummary,
  SubscriptionConfig,
  SubscriptionFilter,
  SubscriptionResource,
  SubscriptionStats,
  UpdateSubscriptionRequest,
} from "@herald/protocol";
export type { RequestOptions } from "./client/request-reply.js";
export {
  type AppendedEvent,
  type BatchAck,
  type BatchSendResult,
  type SendAck,
  SendFailedError,
  type SendNack,
  type SendResult,
  type SendUndelivered,
} from "./client/send-result.js";
export {
  type ConsumeOptions,
  type AutoConsumeOptions,
  type Consumer,
  type ConsumerTransport,
  createConsumer,
  type PollConsumeOptions,
  type StreamConsumeOptions,
} from "./consumer/consume.js";
export { type ConsumerStats, PullConsumer, type SubscribeOptions } from "./consumer/pull-consumer.js";
export { AutoConsumer, type AutoSubscribeOptions } from "./consumer/auto-consumer.js";
export { SseConsumer } from "./consumer/sse-consumer.js";
export {
  ConsumerRejectedError,
  StreamConsumer,
  type StreamConsumerStats,
  type StreamEndpoint,
  type StreamSubscribeOptions,
  type StreamTransport,
} from "./consumer/stream-consumer.js";
export { WsConsumer } from "./consumer/ws-consumer.js";
export {
  type ApiProblem,
  ClosedError,
  type DataIssue,
  DuplicateInProgressError,
  EventDataValidationError,
  type ForeignProblem,
  HandlerPanicError,
  HandlerTimeoutError,
  HeraldApiError,
  isRetryable,
  NonRetryableError,
  RequestTimeoutError,
  RetryableError,
  SchemaRegistrationError,
  SignatureVerificationError,
  SubscriptionMismatchError,
  TransportError,
  UnexpectedResponseError,
} from "./errors.js";
export {
  compose,
  type Handler,
  type HandlerContext,
  type HandlerResult,
  type Middleware,
  type NextFn,
  type OutgoingEvent,
  replyTo,
  UnitOfWork,
} from "./handler.js";
export { derivedEventId } from "./ids.js";
export { type ClaimResult, type Inbox, inboxKey } from "./inbox/inbox.js";
export { MemoryInbox } from "./inbox/memory-inbox.js";
export {
  SqliteInbox,
  type SqliteInboxOptions,
  sqliteInboxIn,
  type TransactionalInbox,
  type TransactionalInboxOptions,
} from "./inbox/sqlite-inbox.js";
export { concurrencyLimit, Semaphore } from "./middleware/concurrency.js";
export { correlation, correlationOf } from "./middleware/correlation.js";
export {
  type DeadLetter,
  type DeadLetterOptions,
  type DeadLetterSink,
  deadLetter,
} from "./middleware/dead-letter.js";
export { DEAD_LETTER_TYPE, deadLetterEvent, deadLetterToStream } from "./middleware/dead-letter-stream.js";
export { type DefaultMiddlewareOptions, defaultMiddleware } from "./middleware/defaults.js";
export { type IdempotentOptions, idempotent } from "./middleware/idempotent.js";
export { type MetricsOptions, metrics } from "./middleware/metrics.js";
export { recover } from "./middleware/recover.js";
export { type RetryOptions, retry } from "./middleware/retry.js";
export { timeout } from "./middleware/timeout.js";
export { tracing } from "./middleware/tracing.js";
export { signWebhook, type VerifyOptions, verifyWebhook, webhookKey } from "./receiver/webhook-signature.js";
export { Receiver, type ReceiverOptions } from "./receiver/receiver.js";
export { type EventPredicate, Router, type RouterOptions, type TypedHandler } from "./router.js";
export {
  contextFromEvent,
  formatTraceparent,
  parseTraceparent,
  type RequestSpan,
  runInRequestSpan,
  withTraceContext,
} from "./tracing/trace-context.js";
export {
  DATA_VERSION,
  type DefineEventOptions,
  dataVersionOf,
  defineEvent,
  type EventData,
  type EventDefinition,
  EventRegistry,
  type TypedEvent,
  type TypedEventInit,
} from "./typed/define-event.js";
export {
  type ContentMode,
  type MessageHandler,
  orderingKey,
  TRANSPORT_DEFAULTS,
  type Transport,
  type TransportCapabilities,
  TransportCapabilityError,
  type TransportMessage,
  type TransportSubscribeOptions,
  type TransportSubscription,
} from "./transport/transport.js";
export {
  DeliveryPool,
  type DeliveryPoolOptions,
  type EngineSettlement,
} from "./transport/delivery-pool.js";
export {
  type ConsumeTransportOptions,
  consumeTransport,
  TransportConsumer,
} from "./transport/consume-transport.js";
export {
  HERALD_TOPIC_ATTRIBUTE,
  heraldSubscriptionId,
  HeraldTransport,
  type HeraldTransportOptions,
} from "./transport/herald-transport.js";
