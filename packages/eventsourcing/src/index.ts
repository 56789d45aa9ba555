// @herald/eventsourcing: deciders, the command handler, event stores, snapshots, projections.
export {
  type CatalogCodec,
  catalogCodec,
  type DomainEventOf,
  type EventAttributes,
  type EventCatalog,
} from "./catalog.js";
export {
  CommandHandler,
  type CommandHandlerOptions,
  type CommandOptions,
  type CommandResult,
} from "./command-handler.js";
export { type Decider, decisionEvents, fold } from "./decider.js";
export { CommandConflictError, DomainError, StaleCheckpointError, UnreadableEventError } from "./errors.js";
export { type EventStore, eventLogStore, heraldStore, type StreamEvent } from "./event-store.js";
export {
  metadataSnapshotStore,
  SNAPSHOT_EVENT_TYPE,
  type Snapshot,
  type SnapshotOptions,
  type SnapshotStore,
  streamSnapshotStore,
} from "./snapshots.js";
export {
  type PostgresProjection,
  type PostgresProjectionOptions,
  postgresProjection,
} from "./projection/postgres.js";
export {
  type BatchReport,
  type LogStamp,
  type ProjectionBackend,
  type ProjectionLag,
  Projector,
  type ProjectorOptions,
  type StaleCheckpointReport,
} from "./projection/projector.js";
export {
  eventLogSource,
  type HeraldSourceOptions,
  heraldSource,
  type ProjectionEvent,
  type ProjectionSource,
  type ProjectionSubscription,
  type SourceIdentity,
  type SourceLag,
} from "./projection/source.js";
export {
  type SqliteProjection,
  type SqliteProjectionOptions,
  sqliteProjection,
} from "./projection/sqlite.js";
export { type PostgresInboxIn, type PostgresInboxOptions, postgresInboxIn } from "./inbox.js";
export {
  type ClaimOptions,
  heraldPublisher,
  isPermanentFailure,
  type OutboxInsert,
  type OutboxKeyBatch,
  OutboxPermanentError,
  type OutboxPublisher,
  type OutboxRow,
  type OutboxStore,
  outboxInserts,
  type ParkedOutboxRow,
} from "./outbox/outbox.js";
export { type PostgresOutbox, type PostgresOutboxOptions, postgresOutbox } from "./outbox/postgres.js";
export { OutboxRelay, type OutboxRelayOptions, type OutboxRetention } from "./outbox/relay.js";
export { type SqlExecutor, type SqlOutbox, sqliteOutbox } from "./outbox/sqlite.js";
