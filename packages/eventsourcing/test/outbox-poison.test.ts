// The relay batches across keys (one request per claim, each key's rows in order); a failed batch
// falls back to one request per key, so only the key at fault backs off; a row refused for good is
// parked with its reason (poison "park": the key's later rows go on; "block": they wait); sent rows
// are purged by age and by count. On SQLite and PostgreSQL.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import {
  type OutboxKeyBatch,
  OutboxPermanentError,
  type OutboxPublisher,
  OutboxRelay,
  type OutboxStore,
  postgresOutbox,
  sqliteOutbox,
} from "@herald/eventsourcing";
import Database from "better-sqlite3";
import pg from "pg";
import { connection, freshSchema, needsPostgres } from "./support/pg.js";

const event = (key: string, n: number, poison = false) =>
  new CloudEvent({
    source: "urn:test:shop",
    type: "shop.order",
    subject: key,
    id: `${key}-${n}`,
    data: { n, poison },
  });

interface Outbox {
  readonly store: OutboxStore;
  add(events: readonly CloudEvent[]): Promise<void>;
  /** Sets sent_at of the sent rows with these event ids. */
  age(ids: readonly string[], sentAt: number): Promise<void>;
  count(): Promise<number>;
  close(): Promise<void>;
}

function sqlite(): Outbox {
  const db = new Database(":memory:");
  const outbox = sqliteOutbox(db);
  return {
    store: outbox.store,
    add: async (events) => db.transaction(() => outbox.add(events))(),
    age: async (ids, sentAt) => {
      for (const id of ids)
        db.prepare("UPDATE herald_outbox SET sent_at = ? WHERE event_id = ?").run(sentAt, id);
    },
    count: async () => (db.prepare("SELECT count(*) AS n FROM herald_outbox").get() as { n: number }).n,
    close: async () => {
      db.close();
    },
  };
}

async function postgres(): Promise<Outbox> {
  const pool = new pg.Pool({ ...connection, max: 4 });
  const schema = freshSchema();
  const outbox = postgresOutbox(pool, { schema });
  await outbox.migrate();
  return {
    store: outbox.store,
    add: async (events) => {
      const client = await pool.connect();
      try {
        await outbox.add(client, events);
      } finally {
        client.release();
      }
    },
    age: async (ids, sentAt) => {
      await pool.query(`UPDATE "${schema}".herald_outbox SET sent_at = $1 WHERE event_id = ANY($2)`, [
        sentAt,
        ids,
      ]);
    },
    count: async () =>
      Number((await pool.query(`SELECT count(*) AS n FROM "${schema}".herald_outbox`)).rows[0].n),
    close: () => pool.end(),
  };
}

/** A broker that refuses (for good) any request holding a poison event, and fails requests holding a `down` key. */
function broker(down = new Set<string>()) {
  const requests: string[][] = [];
  const stored: CloudEvent[] = [];
  const check = (events: readonly CloudEvent[]) => {
    requests.push(events.map((e) => e.id));
    if (events.some((e) => (e.data as { poison: boolean }).poison))
      throw new OutboxPermanentError("422 event-invalid: refused");
    for (const e of events) if (down.has(e.subject!)) throw new Error(`503 for ${e.subject}`);
    stored.push(...events);
  };
  const publish: OutboxPublisher = Object.assign(async (events: readonly CloudEvent[]) => check(events), {
    batch: async (groups: readonly OutboxKeyBatch[]) => check(groups.flatMap((g) => g.events)),
  });
  return { requests, stored, publish };
}

const ofKey = (stored: readonly CloudEvent[], key: string) =>
  stored.filter((e) => e.subject === key).map((e) => (e.data as { n: number }).n);

function suite(name: string, open: () => Promise<Outbox>, options: { skip?: string } = {}) {
  test(`${name}: one request per claim across keys, each key in order`, options, async () => {
    const outbox = await open();
    try {
      for (let n = 0; n < 3; n++) await outbox.add(["a", "b", "c", "d"].map((k) => event(k, n)));
      const { requests, stored, publish } = broker();
      const relay = new OutboxRelay({ store: outbox.store, publish, batchSize: 100 });
      assert.equal(await relay.runOnce(), 12);
      assert.equal(requests.length, 1, "one request for the claim");
      for (const key of ["a", "b", "c", "d"]) assert.deepEqual(ofKey(stored, key), [0, 1, 2]);
      assert.equal(await outbox.store.pending(), 0);
    } finally {
      await outbox.close();
    }
  });

  test(`${name}: a failed batch retries key by key; only the failing key backs off`, options, async () => {
    const outbox = await open();
    try {
      for (let n = 0; n < 2; n++) await outbox.add(["a", "b", "c"].map((k) => event(k, n)));
      const { stored, publish } = broker(new Set(["b"]));
      const errors: unknown[] = [];
      const relay = new OutboxRelay({
        store: outbox.store,
        publish,
        backoff: { baseMs: 60_000, capMs: 60_000 },
        onError: (e) => errors.push(e),
      });
      assert.equal(await relay.runOnce(), 4, "a and c sent; b backs off");
      assert.deepEqual([ofKey(stored, "a"), ofKey(stored, "b"), ofKey(stored, "c")], [[0, 1], [], [0, 1]]);
      assert.equal(errors.length, 1);
      assert.equal(await relay.runOnce(), 0, "b still in its backoff");
      assert.equal(await outbox.store.pending(), 2);
    } finally {
      await outbox.close();
    }
  });

  test(
    `${name}: a poison row is parked with its reason; "park" lets the key go on, "block" holds it`,
    options,
    async () => {
      for (const poison of ["park", "block"] as const) {
        const outbox = await open();
        try {
          await outbox.add([event("k", 0), event("k", 1, true), event("k", 2), event("other", 0)]);
          const { stored, publish } = broker();
          const parked: string[] = [];
          const relay = new OutboxRelay({
            store: outbox.store,
            publish,
            poison,
            pollIntervalMs: 5,
            onParked: (row) => parked.push(row.event.id),
          });
          await relay.drain(); // ends: a parked row is not pending
          assert.deepEqual(parked, ["k-1"]);
          assert.deepEqual(ofKey(stored, "k"), poison === "park" ? [0, 2] : [0]);
          assert.deepEqual(ofKey(stored, "other"), [0]);
          const rows = await outbox.store.parked();
          assert.deepEqual(
            rows.map((r) => [r.event.id, r.error, r.attempts]),
            [["k-1", "422 event-invalid: refused", 1]],
          );
          assert.ok(rows[0]!.parkedAt > 0);
          assert.equal(await outbox.store.pending({ parkedBlocks: poison === "block" }), 0);
          // Never retried: another claim takes nothing of it.
          assert.equal(await relay.runOnce(), 0);
        } finally {
          await outbox.close();
        }
      }
    },
  );

  test(`${name}: purge of sent rows by age and by count; unsent and parked rows stay`, options, async () => {
    const outbox = await open();
    try {
      await outbox.add(Array.from({ length: 8 }, (_, n) => event("s", n)));
      await outbox.add([event("p", 0, true)]);
      const { publish } = broker();
      await new OutboxRelay({ store: outbox.store, publish }).drain();
      await outbox.add([event("u", 0)]); // unsent
      const hour = 3_600_000;
      await outbox.age(["s-0", "s-1", "s-2"], Date.now() - 3 * hour);
      const byAge = new OutboxRelay({ store: outbox.store, publish, retention: { sentMaxAgeMs: 2 * hour } });
      assert.equal(await byAge.purge(), 3);
      assert.equal(await outbox.count(), 7);
      const byCount = new OutboxRelay({ store: outbox.store, publish, retention: { sentMaxRows: 2 } });
      assert.equal(await byCount.purge(), 3);
      assert.equal(await outbox.count(), 4, "2 sent + the parked + the unsent");
      assert.equal((await outbox.store.parked()).length, 1);
      assert.equal(await outbox.store.pending(), 1);
      // The running relay purges on its interval too.
      const running = new OutboxRelay({
        store: outbox.store,
        publish,
        pollIntervalMs: 5,
        retention: { sentMaxRows: 0, intervalMs: 0 },
      });
      running.start();
      try {
        for (let i = 0; i < 400 && (await outbox.count()) !== 1; i++)
          await new Promise((r) => setTimeout(r, 10));
      } finally {
        await running.stop();
      }
      assert.equal(await outbox.count(), 1, "only the parked row is left");
    } finally {
      await outbox.close();
    }
  });
}

suite("SQLite", async () => sqlite());
suite("PostgreSQL", postgres, needsPostgres);
