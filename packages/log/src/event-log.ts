// The backend-neutral contract of Herald's log. Every backend (in-memory, SQLite, later
// PostgreSQL) implements `EventLog` and passes the same contract test suite.
// See "The event and its place in the log" in DESIGN.md.
import type { CloudEvent } from "@herald/cloudevents";

/** What a stream is expected to look like before an append. */
export type ExpectedVersion = "any" | "no-stream" | "exists" | number;

export interface AppendOptions {
  /**
   * The stream every event of this append goes to. Without it each event goes to its
   * derived stream: the `partitionkey` extension, else `subject`, else `source`.
   */
  readonly stream?: string;
  /** Checked against `stream` (required when this is not `any`). Default `any`. */
  readonly expectedVersion?: ExpectedVersion;
}

/** The log's answer for one appended event, in the order the events were given. */
export interface AppendResult {
  readonly id: string;
  readonly source: string;
  readonly position: number;
  readonly stream: string;
  readonly version: number;
  /** True when `source`+`id` was already in the log: position/stream/version are the first copy's. */
  readonly duplicate: boolean;
}

/** An event as the log holds it. */
export interface StoredEvent {
  /** Global, strictly increasing, gapless among committed events, starting at 1. */
  readonly position: number;
  readonly stream: string;
  /** 0-based version within the stream. */
  readonly version: number;
  /** When the log committed it, ms since the epoch. */
  readonly recordedAt: number;
  /** The event in the CloudEvents JSON format, exactly as stored (lets readers skip re-encoding). */
  readonly json: string;
  /** The decoded event (decoded on first access). */
  readonly event: CloudEvent;
}

/** A filter over stored events; the server passes a compiled CESQL expression here. */
export type EventPredicate = (stored: StoredEvent) => boolean;

export interface ReadOptions {
  /** Return events with position > after. Default 0 (from the start). */
  readonly after?: number;
  /** Max events returned. Default 100. */
  readonly limit?: number;
  readonly filter?: EventPredicate;
  /**
   * With a filter, at most this many positions are scanned before the read returns
   * (possibly with fewer than `limit` events); `next` tells where to resume.
   */
  readonly scanLimit?: number;
}

export interface ReadPage {
  readonly events: readonly StoredEvent[];
  /** The position to pass as `after` for the next page (never skips, never repeats). */
  readonly next: number;
}

export interface ReadStreamOptions {
  /** First version to return (forwards: ascending from it; backwards: descending from it). */
  readonly from?: number;
  readonly limit?: number;
  readonly direction?: "forwards" | "backwards";
}

/**
 * The attributes the lineage index knows: `causationid` and `correlationid` (CloudEvents extensions), and
 * `id` of the events that carry either of them (see EventLog.readLinked).
 */
export type LinkAttribute = "id" | "causationid" | "correlationid";

export interface ReadLinkedOptions {
  /** Return events with position > after. Default 0. */
  readonly after?: number;
  /** Max events returned. Default 100. */
  readonly limit?: number;
}

export interface StreamInfo {
  readonly stream: string;
  /** Version of the last event; -1 when the stream has none (only possible once deleted). */
  readonly version: number;
  readonly deleted: boolean;
}

export interface ListStreamsOptions {
  readonly prefix?: string;
  /** Page after this stream name (streams are listed in name order). */
  readonly after?: string;
  readonly limit?: number;
}

export interface DeleteStreamOptions {
  readonly expectedVersion?: ExpectedVersion;
  /** Also remove the tombstone: the name may be used again, from version 0. Default false. */
  readonly hard?: boolean;
}

export interface SubscribeOptions {
  /** Deliver events with position > after: catch-up first, then live, no gap, no duplicate. */
  readonly after: number;
  readonly filter?: EventPredicate;
  /** Events read per catch-up batch. */
  readonly batchSize?: number;
}

/** A catch-up + live subscription. Iterate it; `close()` ends the iteration. */
export interface LogSubscription extends AsyncIterable<StoredEvent> {
  close(): void;
}

/** Consumer-group progress: the last position a group has fully handled. */
export interface CheckpointStore {
  load(group: string): Promise<number | undefined>;
  store(group: string, position: number): Promise<void>;
  delete(group: string): Promise<void>;
  list(): Promise<ReadonlyArray<{ readonly group: string; readonly position: number }>>;
}

/** Small durable key/value records for the server's own state (subscription resources…). */
export interface MetadataStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<ReadonlyArray<{ readonly key: string; readonly value: string }>>;
}

/** Drop events older than maxAgeMs and/or beyond the newest maxCount of each stream. */
export interface RetentionPolicy {
  /** Applies to streams whose name starts with this prefix… */
  readonly streamPrefix?: string;
  /** …and/or events of exactly this type. */
  readonly type?: string;
  readonly maxAgeMs?: number;
  /** Per stream. */
  readonly maxCount?: number;
}

export interface RetentionReport {
  readonly deleted: number;
}

/** An event held back until its time (scheduled delivery): stored at once, appended to the log later. */
export interface ScheduledEvent {
  /** Order of scheduling, strictly increasing, never reused: the cursor of `list`. */
  readonly seq: number;
  readonly source: string;
  readonly id: string;
  /** The stream the event goes to when released (named at scheduling, else derived). */
  readonly stream: string;
  /** Not appended before this time, ms since the epoch. */
  readonly deliverAt: number;
  /** The event in the CloudEvents JSON format, exactly as it will be appended. */
  readonly json: string;
  readonly event: CloudEvent;
}

/** One event to schedule. */
export interface ScheduleRequest {
  readonly event: CloudEvent;
  /** ms since the epoch. */
  readonly deliverAt: number;
}

/**
 * The answer for one scheduled event. `scheduled: true`: it is pending (position 0 and version -1,
 * since it has no place in the log yet); `duplicate` says a pending copy of source+id was there first
 * (its `deliverAt` is the first copy's). `scheduled: false`: source+id is already in the log, and the
 * result is that copy's place with `duplicate: true`.
 */
export interface ScheduleResult extends AppendResult {
  readonly scheduled: boolean;
  readonly deliverAt?: number;
}

export interface ListScheduledOptions {
  /** Entries with seq > after. Default 0. */
  readonly after?: number;
  /** Default 100. */
  readonly limit?: number;
}

export interface ScheduledPage {
  readonly entries: readonly ScheduledEvent[];
  /** Pass as `after` for the next page. */
  readonly next: number;
}

/** What `cancel` found: removed while pending, already appended to the log, or never known. */
export type CancelOutcome = "cancelled" | "released" | "unknown";

/**
 * Scheduled delivery. Every call is async and may run concurrently with appends. A scheduled event
 * is durable when `add` resolves, is invisible to readers and subscribers until `release` appends it,
 * and is appended exactly once: `release` appends the due events and removes them from the schedule
 * in ONE transaction, so a crash leaves each either pending or in the log, and two processes sharing
 * the storage never both append it. Source+id dedupe covers pending and appended events alike:
 * scheduling what is pending or in the log is a duplicate; a plain `append` of an event that is
 * pending stores it now, and its later release is then a duplicate (dropped).
 */
export interface ScheduleStore {
  /** Atomic: all requests are stored or none. Resolves once durable. */
  add(
    requests: readonly ScheduleRequest[],
    options?: { readonly stream?: string },
  ): Promise<readonly ScheduleResult[]>;
  /**
   * Appends the pending events whose deliverAt <= now, oldest deliverAt first (then seq), at most
   * `limit` (default 500), and removes them from the schedule, atomically. Resolves with their
   * append results (duplicate when source+id reached the log meanwhile) once durable.
   */
  release(now: number, limit?: number): Promise<readonly AppendResult[]>;
  /** Removes a pending event; "released" when source+id is in the log instead. */
  cancel(source: string, id: string): Promise<CancelOutcome>;
  /** Pending events in seq order. */
  list(options?: ListScheduledOptions): Promise<ScheduledPage>;
  /** The earliest pending deliverAt (ms), undefined when nothing is pending. */
  next(): Promise<number | undefined>;
}

/**
 * Which log this is, and which copy of it (see identity.ts). Store `id` and `epoch` with any
 * checkpoint kept outside the log's database, and check it with `checkpointStaleness`.
 */
export interface LogIdentity {
  /** Created with the log; backups, restores and copies keep it. */
  readonly id: string;
  /** New each time the log opens on another physical copy of its database (a restore, a copy). */
  readonly epoch: string;
  /**
   * The head when this epoch began (0 for a new log). Positions above it may have belonged, in the
   * epoch before, to events this copy never held.
   */
  readonly epochStart: number;
  /** The epoch before, when this copy was detected as a restore or copy. */
  readonly previousEpoch?: string;
}

export interface EventLog {
  /** Atomic: all events are stored or none. Resolves only once the events are durable. */
  append(events: readonly CloudEvent[], options?: AppendOptions): Promise<readonly AppendResult[]>;
  read(options?: ReadOptions): Promise<ReadPage>;
  readStream(stream: string, options?: ReadStreamOptions): Promise<readonly StoredEvent[]>;
  streamInfo(stream: string): Promise<StreamInfo | undefined>;
  listStreams(options?: ListStreamsOptions): Promise<readonly StreamInfo[]>;
  /**
   * Events whose `attribute` is `value`, in position order, paged like `read` (`next` as there).
   * Served by an index that holds only the events carrying `causationid` or `correlationid` (an event
   * with neither costs the append nothing): `causationid`/`correlationid` find every such event;
   * `id` finds the events carrying either attribute, and a backend may find others too.
   */
  readLinked(attribute: LinkAttribute, value: string, options?: ReadLinkedOptions): Promise<ReadPage>;
  /**
   * The stored event with this source+id, when the log can tell cheaply: every backend finds it among
   * the positions its deduplication covers (SQLite: the newest `dedupeWindow`; memory and PostgreSQL:
   * the whole log) and among the events `readLinked` indexes; older ones may be undefined.
   */
  findEvent(source: string, id: string): Promise<StoredEvent | undefined>;
  /** Position of the newest committed event, 0 when empty. */
  headPosition(): Promise<number>;
  /** Position of the first event recorded at or after `time` (ms), for "start at time". */
  positionAtTime(time: number): Promise<number>;
  subscribe(options: SubscribeOptions): LogSubscription;
  /**
   * Soft delete: the events are removed, the version is kept (a tombstone) and never reused.
   * `hard: true` removes the events and the tombstone too (also of an already deleted stream): the
   * stream is forgotten, its name is free and a new append to it starts again at version 0.
   */
  deleteStream(stream: string, options?: DeleteStreamOptions): Promise<void>;
  /**
   * Removes the events at these positions (queue mode: events every consumer has acked). Positions
   * that hold no event are ignored. Readers simply no longer see them; the head never moves back,
   * stream versions are kept, and a removed event is no longer a duplicate. Resolves with how many
   * events were removed, once durable. Pass bounded slices (SQLite deletes them in one transaction).
   */
  deleteEvents(positions: readonly number[]): Promise<number>;
  setRetention(policies: readonly RetentionPolicy[]): void;
  /** Apply retention now (backends also run it in the background). */
  runRetention(): Promise<RetentionReport>;
  /** Which log this is and which copy of it; stable while the log is open. */
  identity(): Promise<LogIdentity>;
  readonly checkpoints: CheckpointStore;
  readonly metadata: MetadataStore;
  readonly scheduled: ScheduleStore;
  close(): Promise<void>;
}
