// Where a projection's events come from: a subscription from a position (catch-up, then live), and
// enough of the log's head to say how far behind the projection is. Two sources: an in-process
// EventLog, and `herald serve` through the SDK.
import { type CloudEvent, decodeJsonEventObject } from "@herald/cloudevents";
import type { EventLog, LogIdentity } from "@herald/log";
import type { HeraldClient } from "@herald/sdk";

/** One event of the global log, as a projection receives it. */
export interface ProjectionEvent {
  readonly position: number;
  readonly stream: string;
  readonly version: number;
  /** When the log committed it (ms since the epoch). */
  readonly recordedAt: number;
  readonly event: CloudEvent;
}

export interface ProjectionSubscription extends AsyncIterable<ProjectionEvent> {
  close(): void;
}

export interface SourceLag {
  /** Events after the position (at most the source's count cap, see `exact`). */
  readonly events: number;
  readonly exact: boolean;
  /** When the first of them was recorded; undefined when there is none. */
  readonly oldestRecordedAt: number | undefined;
}

/** The source's log: which log and which copy of it, and its head (see `LogIdentity`). */
export interface SourceIdentity {
  readonly identity: LogIdentity;
  /** The log's head, or undefined when the source cannot tell cheaply. */
  readonly head: number | undefined;
}

export interface ProjectionSource {
  /** Events with position > after, in position order, without gap or repeat; live once caught up. */
  subscribe(after: number): ProjectionSubscription;
  lag(after: number): Promise<SourceLag>;
  /**
   * The log's identity, stored with the checkpoint so a projector notices a restored log or
   * another log (stale checkpoints). Sources without one (or answering undefined) are not checked.
   */
  identity?(): Promise<SourceIdentity | undefined>;
}

/** An in-process EventLog (SQLite, memory, PostgreSQL). */
export function eventLogSource(
  log: EventLog,
  options: { readonly batchSize?: number } = {},
): ProjectionSource {
  return {
    subscribe: (after) =>
      log.subscribe({ after, ...(options.batchSize ? { batchSize: options.batchSize } : {}) }),
    async identity() {
      const [identity, head] = await Promise.all([log.identity(), log.headPosition()]);
      return { identity, head };
    },
    async lag(after) {
      const [head, page] = await Promise.all([log.headPosition(), log.read({ after, limit: 1 })]);
      const first = page.events[0];
      // Deleted events (queue mode, retention) make head − after an upper bound.
      return { events: Math.max(0, head - after), exact: false, oldestRecordedAt: first?.recordedAt };
    },
  };
}

export interface HeraldSourceOptions {
  /** Events per read (default 500). */
  readonly pageSize?: number;
  /** Wait between reads once caught up (default 200 ms). */
  readonly pollIntervalMs?: number;
  /** lag() counts at most this many events (default 10 000). */
  readonly lagCountCap?: number;
}

/** `herald serve` through the SDK: the global log (GET /events), polled once caught up. */
export function heraldSource(client: HeraldClient, options: HeraldSourceOptions = {}): ProjectionSource {
  const pageSize = options.pageSize ?? 500;
  return {
    // `/readyz` reports the log's identity (servers that predate it: no check).
    async identity() {
      const ready = await client.ready();
      return ready.log === undefined ? undefined : { identity: ready.log, head: undefined };
    },
    subscribe(after) {
      const abort = new AbortController();
      const entries = client.events({
        after,
        follow: true,
        pageSize,
        pollIntervalMs: options.pollIntervalMs ?? 200,
        signal: abort.signal,
      });
      return {
        close: () => abort.abort(),
        async *[Symbol.asyncIterator]() {
          for await (const entry of entries) {
            yield {
              position: entry.position,
              stream: entry.stream,
              version: entry.version,
              recordedAt: entry.recordedAt,
              event: decodeJsonEventObject(entry.event),
            };
          }
        },
      };
    },
    async lag(after) {
      const cap = options.lagCountCap ?? 10_000;
      let events = 0;
      let oldestRecordedAt: number | undefined;
      let from = after;
      while (events < cap) {
        const page = await client.readEvents({ after: from, limit: Math.min(1000, cap - events) });
        oldestRecordedAt ??= page.events[0]?.recordedAt;
        events += page.events.length;
        if (page.events.length === 0 || page.next <= from) return { events, exact: true, oldestRecordedAt };
        from = page.next;
      }
      return { events, exact: false, oldestRecordedAt };
    },
  };
}
