// The PostgreSQL backend of EventLog. Appends are serialized by the single `log_head` row: each
// append transaction locks it first (SELECT … FOR UPDATE), so appends from every process commit in
// position order and positions are gapless. Readers read the committed head and the rows up to it
// in ONE statement (one snapshot): see README "Why readers never skip" for the proof.
// Appends of one process are batched into one transaction (group commit) while one is in flight.
import type { CloudEvent } from "@herald/cloudevents";
import {
  type AppendOptions,
  type AppendResult,
  CatchUpSubscription,
  type CheckpointStore,
  checkAppendArguments,
  checkAppendExpectation,
  checkExpectation,
  checkExpectedVersion,
  checkLinkedRead,
  checkListStreamsOptions,
  checkNonNegativeInteger,
  checkPositions,
  checkReadOptions,
  checkReadStreamOptions,
  checkRetentionPolicies,
  checkStreamName,
  type DeleteStreamOptions,
  deriveStream,
  duplicateResult,
  type EventLog,
  type LogIdentity,
  type EventPredicate,
  encodeEvent,
  eventKey,
  HeadSignal,
  LazyStoredEvent,
  type LinkAttribute,
  type ListStreamsOptions,
  LogClosedError,
  type LogSubscription,
  type MetadataStore,
  type ReadLinkedOptions,
  type ReadOptions,
  type ReadPage,
  type ReadStreamOptions,
  type RetentionPolicy,
  type RetentionReport,
  checkReleaseArguments,
  decodeEvent,
  type ScheduleStore,
  StreamDeletedError,
  type StoredEvent,
  type StreamInfo,
  type StreamState,
  type SubscribeOptions,
} from "@herald/log/backend";
import pg from "pg";
import { HeadListener } from "./head-listener.js";
import { loadIdentity } from "./identity.js";
import { checkSchemaName, migrate } from "./schema.js";
import { PostgresSchedule, takeDue } from "./schedule.js";
import { PostgresCheckpoints, PostgresMetadata } from "./stores.js";

export interface PostgresLogOptions {
  /** How to reach the database (node-postgres pool settings: connectionString, host, user…). */
  readonly connection: pg.PoolConfig;
  /** The schema holding the log's tables; created (with its migrations) when missing. Default "herald". */
  readonly schema?: string;
  /** Background retention interval; 0 disables the timer. Default 60 000. */
  readonly retentionIntervalMs?: number;
  /** How often subscribers re-read the head when no notification arrives. Default 500. */
  readonly pollIntervalMs?: number;
  /** Max events one group-commit transaction takes. Default 2000. */
  readonly maxGroupEvents?: number;
  /**
   * Test hook: runs inside each append transaction after the head row was updated, just before
   * COMMIT (tests use it to delay commits at random).
   */
  readonly beforeCommit?: () => Promise<void>;
}

interface PendingAppend {
  readonly events: readonly CloudEvent[];
  /** A release of scheduled events (schedule.ts): its events are the due rows, taken in the transaction. */
  readonly release?: { readonly now: number; readonly limit: number };
  readonly named: string | undefined;
  readonly expected: AppendOptions["expectedVersion"] & {};
  readonly resolve: (results: readonly AppendResult[]) => void;
  readonly reject: (error: unknown) => void;
}

interface EventRow {
  position: string;
  stream: string;
  version: string;
  recorded_at: string;
  json: string;
}

const EVENT_COLUMNS = "position, stream, version, recorded_at, json";

/** A lineage attribute's value as the index column holds it (null: not a non-empty string). */
function linkValue(event: CloudEvent, name: "causationid" | "correlationid"): string | null {
  const value = event[name];
  return typeof value === "string" && value !== "" ? value : null;
}

function toStored(row: EventRow): StoredEvent {
  return new LazyStoredEvent(
    Number(row.position),
    row.stream,
    Number(row.version),
    Number(row.recorded_at),
    row.json,
  );
}

/** Opens (and migrates) a PostgreSQL log. */
export async function openPostgresLog(options: PostgresLogOptions): Promise<EventLog> {
  const schema = options.schema ?? "herald";
  checkSchemaName(schema);
  // JIT off for the log's sessions: its statements are short index lookups, and without statistics
  // on the one-row log_head the planner's estimates crossed jit_above_cost, so PostgreSQL compiled
  // each page read (~400 ms of JIT for a 1 000-event page, measured; 1–5 ms without).
  const serverOptions = [options.connection.options, "-c jit=off"].filter(Boolean).join(" ");
  const pool = new pg.Pool({ max: 4, ...options.connection, options: serverOptions });
  // An idle pooled client that loses its connection emits 'error'; the next query reconnects.
  pool.on("error", () => {});
  try {
    const client = await pool.connect();
    try {
      await migrate(client, schema);
    } finally {
      client.release();
    }
    const identity = await loadIdentity(pool, schema);
    const head = await pool.query<{ head: string }>(`SELECT head FROM "${schema}".log_head`);
    const log = new PostgresEventLog(pool, schema, Number(head.rows[0]!.head), identity, options);
    await log.startListening();
    return log;
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
}

class PostgresEventLog implements EventLog {
  readonly #pool: pg.Pool;
  readonly #s: string;
  readonly #channel: string;
  readonly #signal: HeadSignal;
  readonly #listener: HeadListener;
  readonly #beforeCommit: (() => Promise<void>) | undefined;
  readonly #maxGroupEvents: number;
  readonly #timer: NodeJS.Timeout | undefined;
  #queue: PendingAppend[] = [];
  #writing: Promise<void> | undefined;
  #policies: readonly RetentionPolicy[] = [];
  #closed = false;
  readonly checkpoints: CheckpointStore;
  readonly metadata: MetadataStore;
  readonly scheduled: ScheduleStore;

  readonly #identity: LogIdentity;

  constructor(
    pool: pg.Pool,
    schema: string,
    head: number,
    identity: LogIdentity,
    options: PostgresLogOptions,
  ) {
    this.#identity = identity;
    this.#pool = pool;
    this.#s = `"${schema}"`;
    this.#channel = channelOf(schema);
    this.#signal = new HeadSignal(head);
    this.#beforeCommit = options.beforeCommit;
    this.#maxGroupEvents = options.maxGroupEvents ?? 2000;
    this.#listener = new HeadListener({
      // Named so operators (and the reconnect test) can tell the listening connection apart.
      connection: { ...options.connection, application_name: `herald-listen-${schema}` },
      channel: channelOf(schema),
      pollIntervalMs: options.pollIntervalMs ?? 500,
      readHead: () => this.#readHead(),
      onHead: (value) => this.#signal.advance(value),
    });
    const interval = options.retentionIntervalMs ?? 60_000;
    if (interval > 0) {
      this.#timer = setInterval(() => {
        if (this.#policies.length > 0 && !this.#closed) void this.runRetention().catch(() => {});
      }, interval);
      this.#timer.unref();
    }
    const checkOpen = () => this.#checkOpen();
    this.checkpoints = new PostgresCheckpoints(pool, this.#s, checkOpen);
    this.metadata = new PostgresMetadata(pool, this.#s, checkOpen);
    this.scheduled = new PostgresSchedule(pool, this.#s, {
      checkOpen,
      release: (now, limit) => {
        try {
          this.#checkOpen();
          const max = checkReleaseArguments(now, limit);
          return new Promise((resolve, reject) => {
            this.#queue.push({
              events: [],
              named: undefined,
              expected: "any",
              release: { now, limit: max },
              resolve,
              reject,
            });
            if (this.#writing === undefined) this.#writing = this.#drain();
          });
        } catch (error) {
          return Promise.reject(error);
        }
      },
    });
  }

  async identity(): Promise<LogIdentity> {
    this.#checkOpen();
    return this.#identity;
  }

  startListening(): Promise<void> {
    return this.#listener.start();
  }

  append(events: readonly CloudEvent[], options?: AppendOptions): Promise<readonly AppendResult[]> {
    try {
      this.#checkOpen();
      const { stream: named, expected } = checkAppendArguments(events, options);
      if (events.length === 0) return Promise.resolve([]);
      return new Promise((resolve, reject) => {
        this.#queue.push({ events, named, expected, resolve, reject });
        if (this.#writing === undefined) this.#writing = this.#drain();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Group commit: while one transaction runs, later appends queue up and go together in the next. */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const group: PendingAppend[] = [];
      let size = 0;
      while (
        this.#queue.length > 0 &&
        (group.length === 0 || size + this.#queue[0]!.events.length <= this.#maxGroupEvents)
      ) {
        const next = this.#queue.shift()!;
        group.push(next);
        size += next.events.length;
      }
      try {
        await this.#commitGroup(group);
      } catch (error) {
        for (const request of group) request.reject(error);
      }
    }
    this.#writing = undefined;
  }

  async #commitGroup(group: readonly PendingAppend[]): Promise<void> {
    const s = this.#s;
    const client = await this.#pool.connect();
    let settled: (() => void)[] = [];
    try {
      // The row lock that serializes every append of every process, held until COMMIT.
      const [, headRow] = (await client.query(
        `BEGIN; SELECT head, last_recorded_at FROM ${s}.log_head FOR UPDATE`,
      )) as unknown as [pg.QueryResult, pg.QueryResult<{ head: string; last_recorded_at: string }>];
      let head = Number(headRow.rows[0]!.head);
      const recordedAt = Math.max(Date.now(), Number(headRow.rows[0]!.last_recorded_at));
      const requests = await this.#expandReleases(client, group);
      const sources: string[] = [];
      const ids: string[] = [];
      const names = new Set<string>();
      for (const request of requests) {
        for (const event of request.events) {
          if (typeof event.source === "string" && typeof event.id === "string") {
            sources.push(event.source);
            ids.push(event.id);
          }
          names.add(request.named ?? deriveStream(event));
        }
      }
      const known = new Map<string, AppendResult>();
      const existing = await client.query<{
        source: string;
        id: string;
        position: string;
        stream: string;
        version: string;
      }>(
        `SELECT e.source, e.id, e.position, e.stream, e.version FROM ${s}.events e
           JOIN unnest($1::text[], $2::text[]) AS k(source, id) ON e.source = k.source AND e.id = k.id`,
        [sources, ids],
      );
      for (const row of existing.rows) {
        known.set(eventKey(row.source, row.id), {
          id: row.id,
          source: row.source,
          position: Number(row.position),
          stream: row.stream,
          version: Number(row.version),
          duplicate: true,
        });
      }
      const streams = new Map<string, StreamState>();
      const streamRows = await client.query<{ name: string; version: string; deleted: boolean }>(
        `SELECT name, version, deleted FROM ${s}.streams WHERE name = ANY($1::text[])`,
        [[...names]],
      );
      for (const row of streamRows.rows)
        streams.set(row.name, { version: Number(row.version), deleted: row.deleted });

      const rows = {
        position: [] as number[],
        source: [] as string[],
        id: [] as string[],
        stream: [] as string[],
        version: [] as number[],
        type: [] as string[],
        json: [] as string[],
        causationid: [] as (string | null)[],
        correlationid: [] as (string | null)[],
      };
      const touched = new Map<string, number>();
      for (const request of requests) {
        const planned = this.#plan(request, head, known, streams);
        if (planned instanceof Error) {
          settled.push(() => request.reject(planned));
          continue;
        }
        const { results, fresh } = planned;
        request.events.forEach((event, index) => {
          const result = results[index]!;
          if (result.duplicate) return;
          known.set(eventKey(event.source, event.id), { ...result, duplicate: true });
          streams.set(result.stream, { version: result.version, deleted: false });
          touched.set(result.stream, result.version);
          rows.position.push(result.position);
          rows.source.push(event.source);
          rows.id.push(event.id);
          rows.stream.push(result.stream);
          rows.version.push(result.version);
          rows.type.push(event.type);
          rows.json.push(encodeEvent(event));
          rows.causationid.push(linkValue(event, "causationid"));
          rows.correlationid.push(linkValue(event, "correlationid"));
        });
        head += fresh;
        settled.push(() => request.resolve(results));
      }
      if (rows.position.length > 0) {
        // One statement (data-modifying CTEs) for the rows, the streams, the head and the wake-up.
        // pg_notify is a wake-up only, delivered at COMMIT (never for a rolled-back append).
        await client.query(
          `WITH inserted AS (
             INSERT INTO ${s}.events (position, source, id, stream, version, type, recorded_at, json,
                                      causationid, correlationid)
             SELECT p, src, i, st, v, t, $8, j, ca, co
               FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[],
                           $13::text[], $14::text[])
                 AS r(p, src, i, st, v, t, j, ca, co)
           ), versions AS (
             INSERT INTO ${s}.streams (name, version, deleted)
             SELECT n, v, false FROM unnest($9::text[], $10::bigint[]) AS r(n, v)
             ON CONFLICT (name) DO UPDATE SET version = excluded.version
           ), moved AS (
             UPDATE ${s}.log_head SET head = $11, last_recorded_at = $8
           )
           SELECT pg_notify($12, $11::text)`,
          [
            rows.position,
            rows.source,
            rows.id,
            rows.stream,
            rows.version,
            rows.type,
            rows.json,
            recordedAt,
            [...touched.keys()],
            [...touched.values()],
            head,
            this.#channel,
            rows.causationid,
            rows.correlationid,
          ],
        );
        if (this.#beforeCommit !== undefined) await this.#beforeCommit();
      }
      await client.query("COMMIT");
      this.#signal.advance(head);
    } catch (error) {
      settled = [];
      await client.query("ROLLBACK").catch(() => {});
      client.release(error instanceof Error);
      throw error;
    }
    client.release();
    for (const settle of settled) settle();
  }

  /**
   * Replaces each release in the group by one append per due row (taken from the schedule in this
   * transaction); the release resolves with their results once the group commits. A row whose
   * stream was deleted meanwhile is dropped.
   */
  async #expandReleases(client: pg.ClientBase, group: readonly PendingAppend[]): Promise<PendingAppend[]> {
    const requests: PendingAppend[] = [];
    for (const request of group) {
      if (request.release === undefined) {
        requests.push(request);
        continue;
      }
      const due = await takeDue(client, this.#s, request.release.now, request.release.limit);
      const results: (AppendResult | undefined)[] = new Array(due.length);
      let left = due.length;
      const settle = () => {
        left -= 1;
        if (left === 0) request.resolve(results.filter((result) => result !== undefined));
      };
      if (due.length === 0) {
        requests.push({ ...request, events: [], release: undefined, resolve: () => request.resolve([]) });
        continue;
      }
      due.forEach((row, index) => {
        requests.push({
          events: [decodeEvent(row.json)],
          named: row.stream,
          expected: "any",
          resolve: (appended) => {
            results[index] = appended[0];
            settle();
          },
          reject: (error) => {
            if (error instanceof StreamDeletedError) settle();
            else request.reject(error);
          },
        });
      });
    }
    return requests;
  }

  /** Plans one append of a group against the state so far (committed + earlier in the group). */
  #plan(
    request: PendingAppend,
    head: number,
    known: ReadonlyMap<string, AppendResult>,
    streams: ReadonlyMap<string, StreamState>,
  ): { results: AppendResult[]; fresh: number } | Error {
    const results: AppendResult[] = [];
    const planned = new Map<string, AppendResult>();
    const nextVersion = new Map<string, number>();
    let position = head;
    try {
      for (const event of request.events) {
        const key = eventKey(event.source, event.id);
        const first = known.get(key);
        if (first !== undefined) {
          results.push(duplicateResult(event, first.position, first.stream, first.version));
          continue;
        }
        const inBatch = planned.get(key);
        if (inBatch !== undefined) {
          results.push({ ...inBatch, duplicate: true });
          continue;
        }
        const stream = request.named ?? deriveStream(event);
        const state = streams.get(stream);
        if (state?.deleted) throw new StreamDeletedError(stream);
        const version = (nextVersion.get(stream) ?? state?.version ?? -1) + 1;
        nextVersion.set(stream, version);
        position += 1;
        const result = { id: event.id, source: event.source, position, stream, version, duplicate: false };
        planned.set(key, result);
        results.push(result);
      }
      checkAppendExpectation(request.named, request.expected, (stream) => streams.get(stream), planned.size);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
    return { results, fresh: planned.size };
  }

  async read(options?: ReadOptions): Promise<ReadPage> {
    this.#checkOpen();
    const { after, limit, scanLimit } = checkReadOptions(options);
    return this.#readPage(after, limit, options?.filter, scanLimit);
  }

  async #readPage(
    after: number,
    limit: number,
    filter: EventPredicate | undefined,
    scanLimit: number,
  ): Promise<ReadPage> {
    const s = this.#s;
    const events: StoredEvent[] = [];
    let scanned = 0;
    let last = after;
    const chunk = filter === undefined ? limit : Math.min(1000, Math.max(limit, 100));
    // The head and the first rows come from one statement, so from one snapshot (see README).
    const first = await this.#pool.query<EventRow & { head: string }>(
      `SELECT h.head, e.position, e.stream, e.version, e.recorded_at, e.json
         FROM ${s}.log_head h
         LEFT JOIN LATERAL (
           SELECT ${EVENT_COLUMNS} FROM ${s}.events
            WHERE position > $1 AND position <= h.head ORDER BY position LIMIT $2
         ) e ON true`,
      [after, chunk],
    );
    this.#checkOpen();
    const head = Number(first.rows[0]!.head);
    let rows: EventRow[] = first.rows.filter((row) => row.position !== null);
    for (;;) {
      for (const row of rows) {
        if (events.length >= limit || scanned >= scanLimit) return { events, next: last };
        const stored = toStored(row);
        last = stored.position;
        scanned += 1;
        if (filter === undefined || filter(stored)) events.push(stored);
      }
      const full = events.length >= limit || scanned >= scanLimit;
      if (rows.length < chunk || full) {
        if (full && last < head) return { events, next: last };
        return { events, next: Math.max(after, head) };
      }
      const more = await this.#pool.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM ${s}.events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3`,
        [last, head, chunk],
      );
      this.#checkOpen();
      rows = more.rows;
    }
  }

  async readLinked(attribute: LinkAttribute, value: string, options?: ReadLinkedOptions): Promise<ReadPage> {
    this.#checkOpen();
    const { after, limit } = checkLinkedRead(attribute, value, options);
    const s = this.#s;
    // Each condition matches one partial index (schema.ts).
    const where =
      attribute === "id"
        ? "id = $1 AND (causationid IS NOT NULL OR correlationid IS NOT NULL)"
        : `${attribute} = $1`;
    const result = await this.#pool.query<EventRow & { head: string }>(
      `SELECT h.head, e.position, e.stream, e.version, e.recorded_at, e.json
         FROM ${s}.log_head h
         LEFT JOIN LATERAL (
           SELECT ${EVENT_COLUMNS} FROM ${s}.events
            WHERE ${where} AND position > $2 AND position <= h.head ORDER BY position LIMIT $3
         ) e ON true`,
      [value, after, limit],
    );
    this.#checkOpen();
    const head = Number(result.rows[0]!.head);
    const events = result.rows.filter((row) => row.position !== null).map(toStored);
    const last = events[events.length - 1];
    if (events.length < limit || last === undefined) return { events, next: Math.max(after, head) };
    return { events, next: last.position };
  }

  async findEvent(source: string, id: string): Promise<StoredEvent | undefined> {
    this.#checkOpen();
    const result = await this.#pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${this.#s}.events
        WHERE source = $1 AND id = $2 AND position <= (SELECT head FROM ${this.#s}.log_head)`,
      [source, id],
    );
    this.#checkOpen();
    const row = result.rows[0];
    return row === undefined ? undefined : toStored(row);
  }

  async readStream(stream: string, options?: ReadStreamOptions): Promise<readonly StoredEvent[]> {
    this.#checkOpen();
    checkStreamName(stream);
    const { from, limit, backwards } = checkReadStreamOptions(options);
    const s = this.#s;
    const info = await this.streamInfo(stream);
    if (info === undefined) return [];
    if (info.deleted) throw new StreamDeletedError(stream);
    const result = backwards
      ? await this.#pool.query<EventRow>(
          `SELECT ${EVENT_COLUMNS} FROM ${s}.events WHERE stream = $1 AND version <= $2 ORDER BY version DESC LIMIT $3`,
          [stream, from ?? info.version, limit],
        )
      : await this.#pool.query<EventRow>(
          `SELECT ${EVENT_COLUMNS} FROM ${s}.events WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3`,
          [stream, from ?? 0, limit],
        );
    return result.rows.map(toStored);
  }

  async streamInfo(stream: string): Promise<StreamInfo | undefined> {
    this.#checkOpen();
    checkStreamName(stream);
    const result = await this.#pool.query<{ version: string; deleted: boolean }>(
      `SELECT version, deleted FROM ${this.#s}.streams WHERE name = $1`,
      [stream],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : { stream, version: Number(row.version), deleted: row.deleted };
  }

  async listStreams(options?: ListStreamsOptions): Promise<readonly StreamInfo[]> {
    this.#checkOpen();
    const { limit } = checkListStreamsOptions(options);
    const result = await this.#pool.query<{ name: string; version: string; deleted: boolean }>(
      `SELECT name, version, deleted FROM ${this.#s}.streams
        WHERE starts_with(name, $1) AND ($2::text IS NULL OR name > $2) ORDER BY name LIMIT $3`,
      [options?.prefix ?? "", options?.after ?? null, limit],
    );
    return result.rows.map((row) => ({
      stream: row.name,
      version: Number(row.version),
      deleted: row.deleted,
    }));
  }

  async headPosition(): Promise<number> {
    this.#checkOpen();
    return this.#readHead();
  }

  async #readHead(): Promise<number> {
    const result = await this.#pool.query<{ head: string }>(`SELECT head FROM ${this.#s}.log_head`);
    return Number(result.rows[0]!.head);
  }

  async positionAtTime(time: number): Promise<number> {
    this.#checkOpen();
    const result = await this.#pool.query<{ position: string | null; head: string }>(
      `SELECT (SELECT min(position) FROM ${this.#s}.events WHERE recorded_at >= $1 AND position <= h.head) AS position, h.head
         FROM ${this.#s}.log_head h`,
      [time],
    );
    const row = result.rows[0]!;
    return row.position === null ? Number(row.head) + 1 : Number(row.position);
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
    await this.#transaction(async (client) => {
      // Same lock as appends, so the expected-version check cannot race an append to the stream.
      await client.query(`SELECT head FROM ${this.#s}.log_head FOR UPDATE`);
      const found = await client.query<{ version: string; deleted: boolean }>(
        `SELECT version, deleted FROM ${this.#s}.streams WHERE name = $1`,
        [stream],
      );
      const row = found.rows[0];
      const state = row === undefined ? undefined : { version: Number(row.version), deleted: row.deleted };
      if (state?.deleted && !hard) throw new StreamDeletedError(stream);
      checkExpectation(stream, expected, state);
      await client.query(`DELETE FROM ${this.#s}.events WHERE stream = $1`, [stream]);
      if (hard) await client.query(`DELETE FROM ${this.#s}.streams WHERE name = $1`, [stream]);
      else
        await client.query(
          `INSERT INTO ${this.#s}.streams (name, version, deleted) VALUES ($1, -1, true)
           ON CONFLICT (name) DO UPDATE SET deleted = true`,
          [stream],
        );
    });
  }

  async deleteEvents(positions: readonly number[]): Promise<number> {
    this.#checkOpen();
    checkPositions(positions);
    if (positions.length === 0) return 0;
    const result = await this.#pool.query(
      `DELETE FROM ${this.#s}.events WHERE position = ANY($1::bigint[])`,
      [[...new Set(positions)]],
    );
    return result.rowCount ?? 0;
  }

  setRetention(policies: readonly RetentionPolicy[]): void {
    this.#checkOpen();
    checkRetentionPolicies(policies);
    this.#policies = [...policies];
  }

  async runRetention(): Promise<RetentionReport> {
    this.#checkOpen();
    const s = this.#s;
    const now = Date.now();
    let deleted = 0;
    for (const policy of this.#policies) {
      const covers = `starts_with(e.stream, $1) AND ($2::text IS NULL OR e.type = $2)`;
      const args = [policy.streamPrefix ?? "", policy.type ?? null];
      if (policy.maxCount !== undefined && policy.type === undefined) {
        // The stream's newest maxCount versions stay (versions removed by deleteEvents count among them).
        const result = await this.#pool.query(
          `DELETE FROM ${s}.events e USING ${s}.streams st
            WHERE st.name = e.stream AND ${covers} AND e.version < st.version - $3 + 1`,
          [...args, policy.maxCount],
        );
        deleted += result.rowCount ?? 0;
      } else if (policy.maxCount !== undefined) {
        const result = await this.#pool.query(
          `DELETE FROM ${s}.events WHERE position IN (
             SELECT position FROM (
               SELECT e.position, row_number() OVER (PARTITION BY e.stream ORDER BY e.version DESC) AS n
                 FROM ${s}.events e WHERE ${covers}) ranked
              WHERE n > $3)`,
          [...args, policy.maxCount],
        );
        deleted += result.rowCount ?? 0;
      }
      if (policy.maxAgeMs !== undefined) {
        const result = await this.#pool.query(
          `DELETE FROM ${s}.events e WHERE ${covers} AND e.recorded_at < $3`,
          [...args, now - policy.maxAgeMs],
        );
        deleted += result.rowCount ?? 0;
      }
    }
    return { deleted };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const request of this.#queue.splice(0)) request.reject(new LogClosedError());
    await this.#writing;
    this.#signal.close();
    await this.#listener.stop();
    await this.#pool.end();
  }

  async #transaction(work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      await work(client);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new LogClosedError();
  }
}

/** The LISTEN/NOTIFY channel of a schema's log. */
function channelOf(schema: string): string {
  return `herald_log_${schema}`;
}
