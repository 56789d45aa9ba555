// The transactional outbox: the service writes its state change and the events that announce it in
// one transaction of its own database (no dual write: both or neither). A relay then publishes the
// pending rows, in order per key, and marks them sent. A crash between publish and mark republishes
// the same events (same source + id), which the broker's dedupe stores once.
import { type CloudEvent, encodeJsonEvent } from "@herald/cloudevents";
import { type HeraldClient, SendFailedError } from "@herald/sdk";

/** A pending outbox row, as a relay claims it. */
export interface OutboxRow {
  /** Insertion order (global). */
  readonly seq: number;
  /** Rows of one key are published in seq order (an aggregate id, an order id…). */
  readonly key: string;
  /** Failed publish attempts so far. */
  readonly attempts: number;
  readonly event: CloudEvent;
}

/** What a relay needs from the outbox table (SQLite and PostgreSQL implement it). */
export interface OutboxStore {
  /**
   * Leases up to `limit` unsent rows to `owner` for `leaseMs`, in seq order, never a row whose key has
   * an earlier unsent row leased (to anyone): one relay at a time publishes a key, in order.
   */
  claim(owner: string, limit: number, leaseMs: number): Promise<readonly OutboxRow[]>;
  markSent(seqs: readonly number[]): Promise<void>;
  /** The row stays unsent, its key blocked until `retryAt`; the other rows are released. */
  markFailed(failed: number, release: readonly number[], error: string, retryAt: number): Promise<void>;
  /** Unsent rows. */
  pending(): Promise<number>;
}

/** The outbox row's columns as one INSERT writes them (see insertValues). */
export interface OutboxInsert {
  readonly key: string;
  readonly eventId: string;
  readonly source: string;
  readonly type: string;
  readonly json: string;
  readonly createdAt: number;
}

export function outboxInserts(events: readonly CloudEvent[], key?: string): OutboxInsert[] {
  const createdAt = Date.now();
  return events.map((event) => ({
    key: key ?? event.subject ?? event.source,
    eventId: event.id,
    source: event.source,
    type: event.type,
    json: encodeJsonEvent(event),
    createdAt,
  }));
}

/** Publishes the events of one key, in order; throws when they were not stored. */
export type OutboxPublisher = (events: readonly CloudEvent[], key: string) => Promise<void>;

/** Publishes to `herald serve` (each event to its derived stream, the batch atomically). */
export function heraldPublisher(client: HeraldClient): OutboxPublisher {
  return async (events) => {
    const result = await client.sendBatch(events);
    if (!result.ok) throw new SendFailedError(result);
  };
}
