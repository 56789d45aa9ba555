// Depot's scheduled events (TaskDeadline, with the `deliverat` extension) get an outbox of their own.
//
// Why not the service's one outbox: its relay publishes every key of a claim in one atomic batch, and
// herald serve refuses a batch that mixes scheduled and immediate events (400 scheduled-batch-mixed).
// The relay would recover (a 4xx makes it retry key by key, then row by row), but only through its
// poison-row path, three requests for one. A second table in the same database keeps the guarantee
// that matters (the deadline is committed with the task that needs it) and its relay sends each
// scheduled event alone: a batch of several could still mix one already due (appended now) with one
// in the future. A crash between publish and mark resends it with the same id: Herald keeps one.
import { type OutboxPublisher, OutboxRelay, sqliteOutbox } from "@herald/eventsourcing";
import { type HeraldClient, SendFailedError } from "@herald/sdk";
import type { SqliteDatabase } from "@mallbots/contracts";

export function startTimerOutbox(db: SqliteDatabase, client: HeraldClient) {
  const outbox = sqliteOutbox(db, { table: "depot_timer_outbox" });
  const publish: OutboxPublisher = async (events) => {
    for (const event of events) {
      const result = await client.send(event);
      if (!result.ok) throw new SendFailedError(result);
    }
  };
  const relay = new OutboxRelay({
    store: outbox.store,
    publish,
    pollIntervalMs: 100,
    retention: { sentMaxAgeMs: 24 * 3_600_000 },
    onError: (error) => console.error(`timer outbox relay: ${String(error)}`),
  });
  relay.start();
  return { outbox, relay };
}
