// The event store the command handler needs: read a stream, append with an expected version. Two
// implementations: any `EventLog` backend in process (SQLite, memory, PostgreSQL) and `herald serve`
// through the SDK's HeraldClient. Both report a lost race as @herald/log's VersionConflictError, so
// the handler retries the same way whatever the store.
import { type CloudEvent, decodeJsonEventObject } from "@herald/cloudevents";
import { type EventLog, type ExpectedVersion, VersionConflictError } from "@herald/log";
import { type HeraldClient, SendFailedError } from "@herald/sdk";

/** One event of a stream, as the store returns it. */
export interface StreamEvent {
  readonly version: number;
  readonly position: number;
  readonly event: CloudEvent;
}

export interface EventStore {
  /** The stream's events from version `from` (default 0), in version order; [] when it does not exist. */
  readStream(stream: string, from?: number): Promise<readonly StreamEvent[]>;
  /** Atomic; throws VersionConflictError when the stream is not at `expectedVersion`. */
  append(
    stream: string,
    events: readonly CloudEvent[],
    expectedVersion: ExpectedVersion,
  ): Promise<{ readonly version: number; readonly position: number }>;
}

const PAGE = 500;

/** The store of an in-process EventLog backend. */
export function eventLogStore(log: EventLog): EventStore {
  return {
    async readStream(stream, from = 0) {
      const out: StreamEvent[] = [];
      for (;;) {
        const page = await log.readStream(stream, { from: from + out.length, limit: PAGE });
        for (const stored of page) out.push(stored);
        if (page.length < PAGE) return out;
      }
    },
    async append(stream, events, expectedVersion) {
      const results = await log.append(events, { stream, expectedVersion });
      const last = results.at(-1)!;
      return { version: last.version, position: last.position };
    },
  };
}

/** The store of a remote `herald serve`, through the SDK. A refused or undelivered append throws. */
export function heraldStore(client: HeraldClient): EventStore {
  return {
    async readStream(stream, from = 0) {
      const out: StreamEvent[] = [];
      for (;;) {
        let page: Awaited<ReturnType<HeraldClient["readStream"]>>;
        try {
          page = await client.readStream(stream, { from: from + out.length, limit: PAGE });
        } catch (error) {
          // The server answers 404 for a stream that never existed: for a decider that is "empty".
          if ((error as { status?: unknown }).status === 404 && out.length === 0) return [];
          throw error;
        }
        for (const entry of page.events) {
          out.push({
            version: entry.version,
            position: entry.position,
            event: decodeJsonEventObject(entry.event),
          });
        }
        if (page.events.length < PAGE) return out;
      }
    },
    async append(stream, events, expectedVersion) {
      const result = await client.append(stream, events, { expectedVersion });
      if (result.kind === "ack") {
        const last = result.results.at(-1)!;
        return { version: last.version, position: last.position };
      }
      if (result.kind === "nack" && result.problem.code === "stream-version-conflict") {
        const actual = Number((result.problem as { actualVersion?: unknown }).actualVersion ?? -1);
        throw new VersionConflictError(stream, expectedVersion, actual);
      }
      throw new SendFailedError(result);
    },
  };
}
