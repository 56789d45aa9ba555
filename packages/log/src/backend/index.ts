// `@herald/log/backend`: what a backend package needs to implement `EventLog` the way the built-in
// backends do. The memory and SQLite backends import these same modules; users import `@herald/log`.
export {
  actualVersion,
  type CheckedAppend,
  type CheckedRead,
  type CheckedReadStream,
  checkAppendArguments,
  checkExpectedVersion,
  checkPositions,
  checkListStreamsOptions,
  checkNonNegativeInteger,
  checkReadOptions,
  checkReadStreamOptions,
  checkRetentionPolicies,
  checkStreamName,
  DEFAULT_READ_LIMIT,
  expectationMet,
  type StreamState,
} from "../append-rules.js";
export { checkAppendExpectation, checkExpectation, duplicateResult, eventKey } from "../dedupe.js";
export {
  LogClosedError,
  LogInputError,
  LogLockedError,
  StreamDeletedError,
  VersionConflictError,
} from "../errors.js";
export { decodeEvent, encodeEvent } from "../event-codec.js";
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
} from "../event-log.js";
export { type CheckedLinkedRead, checkLinkedRead, linkKey, linkKeys } from "../links.js";
export {
  checkpointStaleness,
  openIdentity,
  parseStoredIdentity,
  publicIdentity,
  type StoredIdentity,
} from "../identity.js";
export { HeadSignal } from "../head-signal.js";
export { policyCovers, policyCoversStream, prefixUpperBound } from "../retention.js";
export {
  checkCancelArguments,
  checkListScheduledOptions,
  checkReleaseArguments,
  checkScheduleArguments,
  DEFAULT_RELEASE_LIMIT,
  inLogResult,
  LazyScheduledEvent,
  pendingResult,
  planSchedule,
} from "../schedule-rules.js";
export { LazyStoredEvent } from "../stored-event.js";
export { deriveStream } from "../stream-name.js";
export { CatchUpSubscription, type PageReader } from "../subscription.js";
