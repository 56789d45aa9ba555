// The in-memory backend: the same semantics as the SQLite backend, nothing on disk.
// For tests and ephemeral use. Every call completes synchronously inside its promise, so
// concurrent calls apply in call order.
import { randomUUID } from "node:crypto";
import type { CloudEvent } from "@herald/cloudevents";
import {
  checkAppendArguments,
  checkListStreamsOptions,
  checkNonNegativeInteger,
  checkPositions,
  checkReadOptions,
  checkReadStreamOptions,
  checkRetentionPolicies,
  checkStreamName,
  checkExpectedVersion,
} from "../append-rules.js";
import { checkAppendExpectation, checkExpectation, duplicateResult, eventKey } from "../dedupe.js";
import { LogClosedError, StreamDeletedError } from "../errors.js";
import { encodeEvent } from "../event-codec.js";
import type {
  AppendOptions,
  AppendResult,
  CheckpointStore,
  DeleteStreamOptions,
  EventLog,
  LinkAttribute,
  ListStreamsOptions,
  LogIdentity,
  LogSubscription,
  MetadataStore,
  ReadLinkedOptions,
  ReadOptions,
  ReadPage,
  ReadStreamOptions,
  RetentionPolicy,
  RetentionReport,
  ScheduleStore,
  StoredEvent,
  StreamInfo,
  SubscribeOptions,
} from "../event-log.js";
import { HeadSignal } from "../head-signal.js";
import { checkLinkedRead, linkKeys } from "../links.js";
import { policyCovers, policyCoversStream } from "../retention.js";
import { LazyStoredEvent } from "../stored-event.js";
import { deriveStream } from "../stream-name.js";
import { CatchUpSubscription } from "../subscription.js";
import { MemorySchedule } from "./memory-schedule.js";
import { compareNames, MemoryCheckpoints, MemoryMetadata } from "./memory-stores.js";

interface Entry {
  readonly stored: LazyStoredEvent;
  readonly key: string;
  readonly type: string;
  /** Its keys in the lineage index (links.ts), when it carries causationid or correlationid. */
  readonly links: string[] | undefined;
}

interface MemoryStream {
  version: number;
  deleted: boolean;
  /** Live events of the stream, ascending by version. */
  entries: Entry[];
}

export interface MemoryLogOptions {
  /** Background retention interval; 0 disables the timer (runRetention still works). Default 60 000. */
  readonly retentionIntervalMs?: number;
}

export function createMemoryLog(options: MemoryLogOptions = {}): EventLog {
  return new MemoryEventLog(options);
}

class MemoryEventLog implements EventLog {
  /** entries[i] holds position base + i; undefined where retention or deletion removed it. */
  #entries: (Entry | undefined)[] = [];
  #base = 1;
  #head = 0;
  #lastRecordedAt = 0;
  #closed = false;
  #policies: readonly RetentionPolicy[] = [];
  readonly #byKey = new Map<string, Entry>();
  /** The lineage index: link key → entries in position order. */
  readonly #links = new Map<string, Entry[]>();
  readonly #streams = new Map<string, MemoryStream>();
  readonly #signal = new HeadSignal(0);
  readonly #timer: NodeJS.Timeout | undefined;
  readonly checkpoints: CheckpointStore;
  readonly metadata: MetadataStore;
  readonly scheduled: ScheduleStore;
  readonly #identity: LogIdentity = { id: randomUUID(), epoch: randomUUID(), epochStart: 0 };

  constructor(options: MemoryLogOptions) {
    const interval = options.retentionIntervalMs ?? 60_000;
    if (interval > 0) {
      this.#timer = setInterval(() => {
        if (this.#policies.length > 0) void this.runRetention().catch(() => {});
      }, interval);
      this.#timer.unref();
    }
    this.checkpoints = new MemoryCheckpoints(() => this.#checkOpen());
    this.metadata = new MemoryMetadata(() => this.#checkOpen());
    this.scheduled = new MemorySchedule({
      checkOpen: () => this.#checkOpen(),
      inLog: (source, id) => {
        const first = this.#byKey.get(eventKey(source, id))?.stored;
        return first === undefined
          ? undefined
          : {
              id,
              source,
              position: first.position,
              stream: first.stream,
              version: first.version,
              duplicate: true,
            };
      },
      appendNow: (events, stream) => this.#appendNow(events, { stream }),
    });
  }

  /** A memory log is its only copy: one identity, one epoch. */
  async identity(): Promise<LogIdentity> {
    this.#checkOpen();
    return this.#identity;
  }

  async append(events: readonly CloudEvent[], options?: AppendOptions): Promise<readonly AppendResult[]> {
    return this.#appendNow(events, options);
  }

  #appendNow(events: readonly CloudEvent[], options?: AppendOptions): readonly AppendResult[] {
    this.#checkOpen();
    const { stream: named, expected } = checkAppendArguments(events, options);
    const results: AppendResult[] = [];
    // Plan first, store after every check passed: the append is atomic.
    const planned = new Map<string, AppendResult>();
    const nextVersion = new Map<string, number>();
    let position = this.#head;
    for (const event of events) {
      const key = eventKey(event.source, event.id);
      const first = this.#byKey.get(key)?.stored;
      if (first !== undefined) {
        results.push(duplicateResult(event, first.position, first.stream, first.version));
        continue;
      }
      const inBatch = planned.get(key);
      if (inBatch !== undefined) {
        results.push({ ...inBatch, duplicate: true });
        continue;
      }
      const stream = named ?? deriveStream(event);
      const state = this.#streams.get(stream);
      if (state?.deleted) throw new StreamDeletedError(stream);
      const version = (nextVersion.get(stream) ?? state?.version ?? -1) + 1;
      nextVersion.set(stream, version);
      position += 1;
      const result = { id: event.id, source: event.source, position, stream, version, duplicate: false };
      planned.set(key, result);
      results.push(result);
    }
    checkAppendExpectation(named, expected, (stream) => this.#streams.get(stream), planned.size);
    if (planned.size === 0) return results;
    const recordedAt = this.#now();
    events.forEach((event, index) => {
      const result = results[index]!;
      if (result.duplicate) return;
      const stored = new LazyStoredEvent(
        result.position,
        result.stream,
        result.version,
        recordedAt,
        encodeEvent(event),
      );
      const links = linkKeys(event);
      const entry: Entry = { stored, key: eventKey(event.source, event.id), type: event.type, links };
      this.#entries.push(entry);
      this.#byKey.set(entry.key, entry);
      for (const link of links ?? []) {
        const list = this.#links.get(link);
        if (list === undefined) this.#links.set(link, [entry]);
        else list.push(entry);
      }
      let state = this.#streams.get(result.stream);
      if (state === undefined) {
        state = { version: -1, deleted: false, entries: [] };
        this.#streams.set(result.stream, state);
      }
      state.version = result.version;
      state.entries.push(entry);
    });
    this.#head = position;
    this.#signal.advance(position);
    return results;
  }

  async read(options?: ReadOptions): Promise<ReadPage> {
    this.#checkOpen();
    const { after, limit, scanLimit } = checkReadOptions(options);
    return this.#readPage(after, limit, options?.filter, scanLimit);
  }

  #readPage(
    after: number,
    limit: number,
    filter: ((stored: StoredEvent) => boolean) | undefined,
    scanLimit: number,
  ): ReadPage {
    const events: StoredEvent[] = [];
    let scanned = 0;
    let next = after;
    for (let position = Math.max(after + 1, this.#base); position <= this.#head; position++) {
      if (events.length >= limit || scanned >= scanLimit) return { events, next };
      const entry = this.#entries[position - this.#base];
      next = position;
      if (entry === undefined) continue;
      scanned += 1;
      if (filter === undefined || filter(entry.stored)) events.push(entry.stored);
    }
    return { events, next: Math.max(after, this.#head) };
  }

  async readLinked(attribute: LinkAttribute, value: string, options?: ReadLinkedOptions): Promise<ReadPage> {
    this.#checkOpen();
    const { key, after, limit } = checkLinkedRead(attribute, value, options);
    const list = this.#links.get(key) ?? [];
    // First entry past `after` (entries are in position order).
    let low = 0;
    let high = list.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (list[mid]!.stored.position <= after) low = mid + 1;
      else high = mid;
    }
    const events = list.slice(low, low + limit).map((entry) => entry.stored);
    const last = events[events.length - 1];
    if (events.length < limit || last === undefined) return { events, next: Math.max(after, this.#head) };
    return { events, next: last.position };
  }

  async findEvent(source: string, id: string): Promise<StoredEvent | undefined> {
    this.#checkOpen();
    return this.#byKey.get(eventKey(source, id))?.stored;
  }

  async readStream(stream: string, options?: ReadStreamOptions): Promise<readonly StoredEvent[]> {
    this.#checkOpen();
    checkStreamName(stream);
    const { from, limit, backwards } = checkReadStreamOptions(options);
    const state = this.#streams.get(stream);
    if (state === undefined) return [];
    if (state.deleted) throw new StreamDeletedError(stream);
    const entries = state.entries;
    if (backwards) {
      const start = from ?? state.version;
      const out: StoredEvent[] = [];
      for (let i = entries.length - 1; i >= 0 && out.length < limit; i--) {
        const stored = entries[i]!.stored;
        if (stored.version <= start) out.push(stored);
      }
      return out;
    }
    const start = from ?? 0;
    const out: StoredEvent[] = [];
    for (const entry of entries) {
      if (out.length >= limit) break;
      if (entry.stored.version >= start) out.push(entry.stored);
    }
    return out;
  }

  async streamInfo(stream: string): Promise<StreamInfo | undefined> {
    this.#checkOpen();
    checkStreamName(stream);
    const state = this.#streams.get(stream);
    return state === undefined ? undefined : { stream, version: state.version, deleted: state.deleted };
  }

  async listStreams(options?: ListStreamsOptions): Promise<readonly StreamInfo[]> {
    this.#checkOpen();
    const { limit } = checkListStreamsOptions(options);
    const prefix = options?.prefix ?? "";
    const after = options?.after;
    const names = [...this.#streams.keys()]
      .filter((name) => name.startsWith(prefix) && (after === undefined || name > after))
      .sort(compareNames)
      .slice(0, limit);
    return names.map((stream) => {
      const state = this.#streams.get(stream)!;
      return { stream, version: state.version, deleted: state.deleted };
    });
  }

  async headPosition(): Promise<number> {
    this.#checkOpen();
    return this.#head;
  }

  async positionAtTime(time: number): Promise<number> {
    this.#checkOpen();
    for (const entry of this.#entries) {
      if (entry !== undefined && entry.stored.recordedAt >= time) return entry.stored.position;
    }
    return this.#head + 1;
  }

  subscribe(options: SubscribeOptions): LogSubscription {
    this.#checkOpen();
    checkNonNegativeInteger("after", options.after);
    return new CatchUpSubscription(
      async (after, limit, filter, scanLimit) => {
        this.#checkOpen();
        return this.#readPage(after, limit, filter, scanLimit);
      },
      this.#signal,
      options,
    );
  }

  async deleteStream(stream: string, options?: DeleteStreamOptions): Promise<void> {
    this.#checkOpen();
    checkStreamName(stream);
    const expected = options?.expectedVersion ?? "any";
    checkExpectedVersion(expected);
    const hard = options?.hard ?? false;
    const state = this.#streams.get(stream);
    if (state?.deleted && !hard) throw new StreamDeletedError(stream);
    checkExpectation(stream, expected, state);
    if (hard) {
      if (state === undefined) return;
      for (const entry of state.entries) this.#remove(entry);
      this.#streams.delete(stream);
      this.#trimFront();
      return;
    }
    if (state === undefined) {
      this.#streams.set(stream, { version: -1, deleted: true, entries: [] });
      return;
    }
    for (const entry of state.entries) this.#remove(entry);
    state.entries = [];
    state.deleted = true;
    this.#trimFront();
  }

  async deleteEvents(positions: readonly number[]): Promise<number> {
    this.#checkOpen();
    checkPositions(positions);
    const drop = new Set<Entry>();
    for (const position of positions) {
      const entry = position >= this.#base ? this.#entries[position - this.#base] : undefined;
      if (entry !== undefined) drop.add(entry);
    }
    if (drop.size === 0) return 0;
    const touched = new Set<MemoryStream>();
    for (const entry of drop) {
      this.#remove(entry);
      const state = this.#streams.get(entry.stored.stream);
      if (state !== undefined) touched.add(state);
    }
    for (const state of touched) state.entries = state.entries.filter((entry) => !drop.has(entry));
    this.#trimFront();
    return drop.size;
  }

  setRetention(policies: readonly RetentionPolicy[]): void {
    this.#checkOpen();
    checkRetentionPolicies(policies);
    this.#policies = [...policies];
  }

  async runRetention(): Promise<RetentionReport> {
    this.#checkOpen();
    const now = Date.now();
    let deleted = 0;
    for (const policy of this.#policies) {
      for (const [name, state] of this.#streams) {
        if (state.deleted || !policyCoversStream(policy, name)) continue;
        const covered = state.entries.filter((entry) => policyCovers(policy, name, entry.type));
        const drop = new Set<Entry>();
        if (policy.maxCount !== undefined && policy.type === undefined) {
          // Like SQLite: the stream's newest maxCount versions stay (positions removed by deleteEvents
          // count among them), so the bound is one index range.
          const oldestKept = state.version - policy.maxCount + 1;
          for (const entry of covered) if (entry.stored.version < oldestKept) drop.add(entry);
        } else if (policy.maxCount !== undefined) {
          for (const entry of covered.slice(0, Math.max(0, covered.length - policy.maxCount)))
            drop.add(entry);
        }
        if (policy.maxAgeMs !== undefined) {
          const cutoff = now - policy.maxAgeMs;
          for (const entry of covered) if (entry.stored.recordedAt < cutoff) drop.add(entry);
        }
        if (drop.size === 0) continue;
        for (const entry of drop) this.#remove(entry);
        state.entries = state.entries.filter((entry) => !drop.has(entry));
        deleted += drop.size;
      }
    }
    this.#trimFront();
    return { deleted };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#signal.close();
  }

  #remove(entry: Entry): void {
    this.#entries[entry.stored.position - this.#base] = undefined;
    this.#byKey.delete(entry.key);
    for (const link of entry.links ?? []) {
      const list = this.#links.get(link)?.filter((other) => other !== entry);
      if (list === undefined || list.length === 0) this.#links.delete(link);
      else this.#links.set(link, list);
    }
  }

  /** Drops removed entries at the front so memory follows what the log still holds. */
  #trimFront(): void {
    let drop = 0;
    while (drop < this.#entries.length && this.#entries[drop] === undefined) drop++;
    if (drop === 0) return;
    this.#entries = this.#entries.slice(drop);
    this.#base += drop;
  }

  #now(): number {
    this.#lastRecordedAt = Math.max(this.#lastRecordedAt, Date.now());
    return this.#lastRecordedAt;
  }

  #checkOpen(): void {
    if (this.#closed) throw new LogClosedError();
  }
}
