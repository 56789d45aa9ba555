// Readers against writers in several processes whose commits interleave at random (each append
// transaction sleeps a random time before COMMIT): no reader may ever skip a committed event or see
// one out of order. Under the naive bigserial design this fails within a few appends (see README).
import assert from "node:assert/strict";
import { test } from "node:test";
import { openPostgresLog, SCHEMA_VERSION } from "@herald/log-postgres";
import pg from "pg";
import { connection, freshSchema, needsPostgres } from "./support/pg.js";
import { event, sleep } from "./support/events.js";
import { startWriter } from "./support/writers.js";

const WRITERS = 3;
const APPENDS = 60;

test("several processes with randomly delayed commits: readers see every event once, in order, no gap", {
  ...needsPostgres,
  timeout: 60_000,
}, async () => {
  const schema = freshSchema();
  // Writers and this reader open the fresh schema at the same moment: the migrations race too.
  const writers = Array.from({ length: WRITERS }, (_, w) => startWriter(schema, w, APPENDS, 15));
  const log = await openPostgresLog({ connection, schema, retentionIntervalMs: 0, pollIntervalMs: 200 });
  try {
    const pagesChecked = { count: 0 };
    let reading = true;
    // A polling reader: with nothing deleted, every page must continue exactly at after + 1.
    const poller = (async () => {
      let after = 0;
      while (reading) {
        const page = await log.read({ after, limit: 7 });
        page.events.forEach((stored, index) => {
          assert.equal(stored.position, after + 1 + index, "no gap, no reorder");
        });
        if (page.events.length > 0) assert.equal(page.next, page.events.at(-1)!.position);
        after = page.next;
        pagesChecked.count += 1;
      }
      return after;
    })();
    const exits = await Promise.all(writers.map((w) => w.exited));
    for (const exit of exits) assert.equal(exit.code, 0, exit.stderr);
    const acks = writers.flatMap((w) => w.acks);
    const total = acks.length;
    assert.ok(total > WRITERS * APPENDS, "each append acked at least one event");
    // The live subscriber from 0 sees each acked event exactly once, in position order.
    const delivered: number[] = [];
    const subscription = log.subscribe({ after: 0, batchSize: 13 });
    for await (const stored of subscription) {
      delivered.push(stored.position);
      if (delivered.length === total) break;
    }
    reading = false;
    const polledTo = await poller;
    assert.deepEqual(
      delivered,
      Array.from({ length: total }, (_, i) => i + 1),
    );
    assert.deepEqual(
      acks.map((a) => a.position).sort((a, b) => a - b),
      delivered,
      "acked positions are exactly 1..head",
    );
    assert.equal(await log.headPosition(), total);
    assert.ok(polledTo <= total);
    assert.ok(pagesChecked.count > 0);
  } finally {
    await log.close();
  }
});

test("a live subscriber in another process wakes on NOTIFY and misses nothing", {
  ...needsPostgres,
  timeout: 60_000,
}, async () => {
  const schema = freshSchema();
  // A long poll interval: deliveries within it come from the notification.
  const log = await openPostgresLog({ connection, schema, retentionIntervalMs: 0, pollIntervalMs: 60_000 });
  try {
    const subscription = log.subscribe({ after: 0 });
    const iterator = subscription[Symbol.asyncIterator]();
    const first = iterator.next();
    const writer = startWriter(schema, 9, 20, 5);
    assert.equal((await first).value?.position, 1);
    const exit = await writer.exited;
    assert.equal(exit.code, 0, exit.stderr);
    const total = writer.acks.length;
    let last = 1;
    while (last < total) {
      const next = await iterator.next();
      assert.equal(next.value?.position, last + 1);
      last += 1;
    }
    subscription.close();
  } finally {
    await log.close();
  }
});

test("three logs opening a fresh schema at once apply each migration once", {
  ...needsPostgres,
  timeout: 60_000,
}, async () => {
  const schema = freshSchema();
  const logs = await Promise.all([
    openPostgresLog({ connection, schema, retentionIntervalMs: 0 }),
    openPostgresLog({ connection, schema, retentionIntervalMs: 0 }),
    openPostgresLog({ connection, schema, retentionIntervalMs: 0 }),
  ]);
  try {
    const client = new pg.Client(connection);
    await client.connect();
    try {
      const rows = await client.query<{ version: number }>(
        `SELECT version FROM "${schema}".herald_migrations ORDER BY version`,
      );
      assert.deepEqual(
        rows.rows.map((r) => r.version).sort(),
        Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
      );
      // …and agree on one identity.
      const identities = await Promise.all(logs.map((log) => log.identity()));
      assert.deepEqual(identities[1], identities[0]);
      assert.deepEqual(identities[2], identities[0]);
    } finally {
      await client.end();
    }
  } finally {
    for (const log of logs) await log.close();
  }
});

test("the naive design (bigserial, read rows above the checkpoint) skips an event that commits late", {
  ...needsPostgres,
  timeout: 60_000,
}, async () => {
  const schema = freshSchema();
  const a = new pg.Client(connection);
  const b = new pg.Client(connection);
  await a.connect();
  await b.connect();
  try {
    await a.query(
      `CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".naive (position bigserial PRIMARY KEY)`,
    );
    await a.query(`BEGIN; INSERT INTO "${schema}".naive DEFAULT VALUES`); // takes position 1, commits late
    await b.query(`INSERT INTO "${schema}".naive DEFAULT VALUES`); // position 2, committed at once
    const seen = await b.query<{ position: string }>(
      `SELECT position FROM "${schema}".naive WHERE position > 0`,
    );
    const checkpoint = Math.max(...seen.rows.map((r) => Number(r.position)));
    assert.equal(checkpoint, 2, "the reader sees 2 and moves its checkpoint past 1");
    await a.query("COMMIT");
    const after = await b.query(`SELECT position FROM "${schema}".naive WHERE position > $1`, [checkpoint]);
    assert.equal(after.rows.length, 0, "event 1 is never delivered to this reader");
  } finally {
    await a.end();
    await b.end();
  }
});

test("an open append transaction holds back later appends and readers see neither until it commits", {
  ...needsPostgres,
  timeout: 60_000,
}, async () => {
  const schema = freshSchema();
  let enter: () => void = () => {};
  const entered = new Promise<void>((resolve) => {
    enter = resolve;
  });
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const slow = await openPostgresLog({
    connection,
    schema,
    retentionIntervalMs: 0,
    beforeCommit: async () => {
      enter();
      await gate;
    },
  });
  const fast = await openPostgresLog({ connection, schema, retentionIntervalMs: 0 });
  try {
    const first = slow.append([event("/slow", "1")]);
    await entered;
    let secondDone = false;
    const second = fast.append([event("/fast", "1")]).then((r) => {
      secondDone = true;
      return r;
    });
    // Whatever the scheduling, while the first transaction is open nothing is readable and the
    // second append cannot have committed (it waits on the head row's lock).
    await sleep(100);
    assert.equal(secondDone, false);
    assert.deepEqual((await fast.read()).events, []);
    assert.equal(await fast.headPosition(), 0);
    release();
    assert.equal((await first)[0]!.position, 1);
    assert.equal((await second)[0]!.position, 2);
    assert.deepEqual(
      (await fast.read()).events.map((e) => e.position),
      [1, 2],
    );
  } finally {
    await slow.close();
    await fast.close();
  }
});

test("after the listening connection drops, it reconnects and re-reads the head", {
  ...needsPostgres,
  timeout: 60_000,
}, async () => {
  const schema = freshSchema();
  // No poll within the test: only the notification or the re-read after reconnect can wake it.
  const log = await openPostgresLog({ connection, schema, retentionIntervalMs: 0, pollIntervalMs: 600_000 });
  const admin = new pg.Client(connection);
  await admin.connect();
  const listeners = await admin.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
    [`herald-listen-${schema}`],
  );
  assert.equal(listeners.rows.length, 1, "one listening connection");
  const other = await openPostgresLog({ connection, schema, retentionIntervalMs: 0 });
  try {
    const iterator = log.subscribe({ after: 0 })[Symbol.asyncIterator]();
    const first = iterator.next();
    const killed = await admin.query<{ ok: boolean }>("SELECT pg_terminate_backend($1) AS ok", [
      listeners.rows[0]!.pid,
    ]);
    assert.equal(killed.rows[0]!.ok, true);
    // Appended while the listener is away: its notification reaches nobody in `log`.
    await other.append([event("/gone", "1")]);
    assert.equal((await first).value?.position, 1);
  } finally {
    await admin.end();
    await other.close();
    await log.close();
  }
});
