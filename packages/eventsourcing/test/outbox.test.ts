import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import {
  type OutboxPublisher,
  OutboxRelay,
  type OutboxStore,
  postgresOutbox,
  sqliteOutbox,
} from "@herald/eventsourcing";
import Database from "better-sqlite3";
import pg from "pg";
import { connection, freshSchema, needsPostgres } from "./support/pg.js";

const dir = mkdtempSync(join(tmpdir(), "herald-es-outbox-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const event = (key: string, n: number) =>
  new CloudEvent({
    source: "urn:test:shop",
    type: "shop.order.placed",
    subject: key,
    id: `${key}-${n}`,
    data: { n, secret: "x" },
  });

/** Records what was published; fails the keys in `failing` a number of times first. */
function recorder(failing: Map<string, number> = new Map()) {
  const published: CloudEvent[] = [];
  const publish: OutboxPublisher = async (events, key) => {
    const left = failing.get(key) ?? 0;
    if (left > 0) {
      failing.set(key, left - 1);
      throw new Error(`broker down for ${key}`);
    }
    await new Promise((r) => setImmediate(r)); // let other relays interleave
    published.push(...events);
  };
  return { published, publish };
}

function assertOrderedOnce(published: readonly CloudEvent[], keys: number, perKey: number) {
  const ids = published.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, "no row published twice");
  assert.equal(ids.length, keys * perKey, "every row published");
  for (let k = 0; k < keys; k++) {
    const ofKey = published.filter((e) => e.subject === `k${k}`).map((e) => (e.data as { n: number }).n);
    assert.deepEqual(
      ofKey,
      Array.from({ length: perKey }, (_, i) => i),
      `k${k} in order`,
    );
  }
}

test("SQLite: state and events in one transaction; rollback writes neither", async () => {
  const db = new Database(":memory:");
  const outbox = sqliteOutbox(db);
  db.exec("CREATE TABLE orders (id TEXT PRIMARY KEY)");
  const placeOrder = db.transaction((id: string, fail: boolean) => {
    db.prepare("INSERT INTO orders VALUES (?)").run(id);
    outbox.add([event(id, 0)]);
    if (fail) throw new Error("business failure after the write");
  });
  placeOrder("a", false);
  assert.throws(() => placeOrder("b", true));
  assert.deepEqual(db.prepare("SELECT id FROM orders").all(), [{ id: "a" }]);
  assert.equal(await outbox.store.pending(), 1);
  const { published, publish } = recorder();
  await new OutboxRelay({ store: outbox.store, publish }).drain();
  assert.deepEqual(
    published.map((e) => e.id),
    ["a-0"],
  );
  assert.equal(await outbox.store.pending(), 0);
  db.close();
});

test("relay: integration mapping on the way out; a failing key retries with backoff, in order, others go on", async () => {
  const db = new Database(":memory:");
  const outbox = sqliteOutbox(db);
  db.transaction(() => {
    for (let n = 0; n < 4; n++) outbox.add([event("k0", n), event("k1", n)]);
  })();
  const { published, publish } = recorder(new Map([["k0", 2]]));
  const errors: unknown[] = [];
  const relay = new OutboxRelay({
    store: outbox.store,
    publish,
    batchSize: 3,
    backoff: { baseMs: 5, capMs: 10 },
    pollIntervalMs: 5,
    onError: (e) => errors.push(e),
    // The integration event: another type, the data trimmed to what other services may see.
    map: (e) =>
      e.cloneWith({ type: "shop.integration.order-placed", data: { n: (e.data as { n: number }).n } }),
  });
  await relay.drain();
  assert.equal(errors.length, 2);
  assertOrderedOnce(published, 2, 4);
  assert.ok(
    published.every((e) => e.type === "shop.integration.order-placed" && !("secret" in (e.data as object))),
  );
  // k1 was not held up by k0's failures.
  assert.ok(published.findIndex((e) => e.subject === "k1") < published.findIndex((e) => e.subject === "k0"));
  const row = db.prepare("SELECT attempts, last_error FROM herald_outbox WHERE event_id = 'k0-0'").get();
  assert.deepEqual(row, { attempts: 2, last_error: "broker down for k0" });
  db.close();
});

async function concurrentRelays(stores: readonly OutboxStore[], keys: number, perKey: number) {
  const { published, publish } = recorder();
  await Promise.all(
    stores.map((store) => new OutboxRelay({ store, publish, batchSize: 7, pollIntervalMs: 2 }).drain()),
  );
  assertOrderedOnce(published, keys, perKey);
}

test("SQLite: three relays on three connections never publish a row twice; order per key holds", async () => {
  const path = join(dir, "outbox.db");
  const writer = new Database(path);
  writer.pragma("journal_mode = WAL");
  const outbox = sqliteOutbox(writer);
  writer.transaction(() => {
    for (let n = 0; n < 10; n++) for (let k = 0; k < 5; k++) outbox.add([event(`k${k}`, n)]);
  })();
  const connections = [0, 1, 2].map(() => new Database(path, { timeout: 5000 }));
  await concurrentRelays(
    connections.map((c) => sqliteOutbox(c).store),
    5,
    10,
  );
  for (const c of connections) c.close();
  writer.close();
});

test("PostgreSQL: state + outbox in one transaction; three relays, each row once, in order per key", {
  ...needsPostgres,
  timeout: 60_000,
}, async () => {
  const pool = new pg.Pool({ ...connection, max: 6 });
  const schema = freshSchema();
  try {
    const outbox = postgresOutbox(pool, { schema });
    await outbox.migrate();
    await pool.query(`CREATE TABLE "${schema}".orders (id text PRIMARY KEY)`);
    const client = await pool.connect();
    try {
      for (let n = 0; n < 10; n++) {
        await client.query("BEGIN");
        for (let k = 0; k < 5; k++) {
          await client.query(`INSERT INTO "${schema}".orders VALUES ($1)`, [`k${k}-${n}`]);
          await outbox.add(client, [event(`k${k}`, n)]);
        }
        await client.query("COMMIT");
      }
      // A rolled-back transaction leaves no outbox row.
      await client.query("BEGIN");
      await outbox.add(client, [event("ghost", 0)]);
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
    assert.equal(await outbox.store.pending(), 50);
    const relays = [0, 1, 2].map(() => postgresOutbox(pool, { schema }).store);
    await concurrentRelays(relays, 5, 10);
  } finally {
    await pool.end();
  }
});
