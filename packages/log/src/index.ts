export type {
  AppendOptions,
  AppendResult,
  CancelOutcome,
  ListScheduledOptions,
  ScheduledEvent,
  ScheduledPage,
  ScheduleRequest,
  ScheduleResult,
  ScheduleStore,
  CheckpointStore,
  DeleteStreamOptions,
  EventLog,
  EventPredicate,
  ExpectedVersion,
  ListStreamsOptions,
  LinkAttribute,
  LogIdentity,
  LogSubscription,
  MetadataStore,
  ReadLinkedOptions,
  ReadOptions,
  ReadPage,
  ReadStreamOptions,
  RetentionPolicy,
  RetentionReport,
  StoredEvent,
  StreamInfo,
  SubscribeOptions,
} from "./event-log.js";
export {
  LogClosedError,
  LogFailedError,
  LogInputError,
  LogLockedError,
  StreamDeletedError,
  VersionConflictError,
} from "./errors.js";
export { checkpointStaleness } from "./identity.js";
export { createMemoryLog, type MemoryLogOptions } from "./memory/memory-log.js";
export type { CheckpointMode, Durability } from "./sqlite/schema.js";
export { type CommitSync, openSqliteLog, type SqliteLogOptions } from "./sqlite/sqlite-log.js";
export type { SyncFile } from "./sqlite/wal-sync.js";
export { deriveStream } from "./stream-name.js";
