import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  type BatchReport,
  eventLogSource,
  heraldSource,
  Projector,
  postgresProjection,
  sqliteProjection,
  UnreadableEventError,
} from "@herald/eventsourcing";
import { projectionSpec, sqliteProjectionHarness } from "@herald/eventsourcing/testing";
import { CloudEvent } from "@herald/cloudevents";
import { createMemoryLog } from "@herald/log";
import { HeraldClient } from "@herald/sdk";
import { startServer } from "@herald/server";
import Database from "better-sqlite3";
import pg from "pg";
import { expectedSummary, type OrderRow, postgresSummary, sqliteSummary } from "./fixtures/order-summary.js";
import { allEvents, writeOrders } from "./fixtures/orders-log.js";
import { connection, freshSchema, needsPostgres } from "./support/pg.js";

const dir = mkdtempSync(join(tmpdir(), "herald-es-proj-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const rows = (db: Database.Database): OrderRow[] =>
  db.prepare("SELECT * FROM order_summary ORDER BY order_id").all() as OrderRow[];

test("projectionSpec: given/when/then on the real SQL, with thenNothingHappened and thenThrows", async () => {
  const spec = projectionSpec(sqliteProjectionHarness(() => new Database(":memory:"), sqliteSummary, rows));
  const placed = { stream: "o1", type: "shop.order.placed", data: { customer: "ada" } } as const;
  await spec
    .given([placed])
    .when([{ stream: "o1", type: "shop.order.item-added", data: { sku: "tea", quantity: 2 } }])
    .then([{ order_id: "o1", customer: "ada", items: 2, status: "open", events: 2 }]);
  // Items for an order the read model does not know change nothing.
  await spec
    .given([placed])
    .when([{ stream: "o2", type: "shop.order.shipped", data: {} }])
    .thenNothingHappened();
  // Two placements of one order violate the primary key.
  await spec.given([placed]).when([placed]).thenThrows(Error);
  await assert.rejects(spec.given([]).when([placed]).then([]), assert.AssertionError);
});

test("SQLite read model from an EventLog: equals the fold; lag in events and seconds; metrics hook", async () => {
  const log = createMemoryLog();
  await writeOrders(log, 6, 3);
  const db = new Database(join(dir, "rm1.db"));
  const reports: BatchReport[] = [];
  const projector = new Projector({
    backend: sqliteProjection(db, sqliteSummary),
    source: eventLogSource(log),
    batchSize: 7,
    onBatch: (r) => reports.push(r),
  });
  assert.equal((await projector.lag()).events, await log.headPosition(), "nothing projected yet");
  await projector.start();
  await projector.waitFor(await log.headPosition());
  assert.deepEqual(rows(db), expectedSummary(await allEvents(log)));
  assert.deepEqual(await projector.lag(), {
    position: await log.headPosition(),
    events: 0,
    exact: false,
    seconds: 0,
  });
  assert.ok(reports.every((r) => r.events <= 7 && r.projection === "order_summary" && !r.rebuilding));
  assert.equal(
    reports.reduce((n, r) => n + r.events, 0),
    await log.headPosition(),
  );
  await projector.stop();
  // Stopped: new events wait, and the lag says how many and for how long.
  await writeOrders(log, 2, 1, "late-");
  const lag = await projector.lag();
  assert.equal(lag.events, 5);
  assert.ok(lag.seconds >= 0 && lag.seconds < 60);
  // Restarted on the same database: it resumes from its checkpoint (no event applied twice).
  const again = new Projector({ backend: sqliteProjection(db, sqliteSummary), source: eventLogSource(log) });
  await again.start();
  await again.waitFor(await log.headPosition());
  assert.deepEqual(rows(db), expectedSummary(await allEvents(log)));
  await again.stop();
  db.close();
  await log.close();
});

test("blue/green rebuild: a new generation catches up beside the live one and swaps; queries never stop", async () => {
  const log = createMemoryLog();
  await writeOrders(log, 20, 4);
  const db = new Database(join(dir, "rm2.db"));
  const reader = new Database(join(dir, "rm2.db"), { readonly: true });
  const projector = new Projector({
    backend: sqliteProjection(db, sqliteSummary),
    source: eventLogSource(log),
    batchSize: 10,
  });
  await projector.start();
  await projector.waitFor(await log.headPosition());
  assert.equal(projector.generation, 1);
  // A reader on its own connection queries the view throughout; every answer is a whole read model.
  let querying = true;
  let queries = 0;
  const complete = expectedSummary(await allEvents(log)).length;
  const queriesDone = (async () => {
    while (querying) {
      const seen = reader.prepare("SELECT count(*) AS n FROM order_summary").get() as { n: number };
      assert.ok(seen.n === complete || seen.n === complete + 1, `saw ${seen.n} orders`);
      queries++;
      await new Promise((r) => setImmediate(r));
    }
  })();
  const rebuilt = projector.rebuild();
  // The live generation keeps projecting during the rebuild.
  await writeOrders(log, 1, 1, "during-");
  await rebuilt;
  querying = false;
  await queriesDone;
  assert.ok(queries > 0);
  assert.equal(projector.generation, 2);
  await projector.waitFor(await log.headPosition());
  assert.deepEqual(rows(db), expectedSummary(await allEvents(log)));
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE name LIKE 'order_summary%' ORDER BY name")
    .all();
  assert.deepEqual(
    tables,
    [{ name: "order_summary" }, { name: "order_summary__g2" }],
    "the old generation is dropped",
  );
  await projector.stop();
  reader.close();
  db.close();
  await log.close();
});

test("an unreadable event stops the projector with a typed error; the batch before it stays", async () => {
  const log = createMemoryLog();
  await writeOrders(log, 1, 1);
  await log.append([new CloudEvent({ source: "x", type: "shop.order.item-added", data: { sku: 1 } })], {
    stream: "order-0",
  });
  const db = new Database(":memory:");
  const errors: unknown[] = [];
  const projector = new Projector({
    backend: sqliteProjection(db, sqliteSummary),
    source: eventLogSource(log),
    batchSize: 1,
    onError: (e) => errors.push(e),
  });
  await projector.start();
  await assert.rejects(projector.waitFor(await log.headPosition()), UnreadableEventError);
  assert.ok(errors[0] instanceof UnreadableEventError);
  assert.equal(projector.position, 3);
  await projector.stop();
  db.close();
  await log.close();
});

test("PostgreSQL read model: fold equality, restart from the checkpoint, blue/green rebuild", {
  ...needsPostgres,
  timeout: 60_000,
}, async () => {
  const log = createMemoryLog();
  await writeOrders(log, 8, 3);
  const pool = new pg.Pool({ ...connection, max: 4 });
  const schema = freshSchema();
  const query = async () =>
    (await pool.query<OrderRow>(`SELECT * FROM "${schema}".order_summary ORDER BY order_id`)).rows;
  try {
    const projector = new Projector({
      backend: postgresProjection(pool, postgresSummary, { schema }),
      source: eventLogSource(log),
      batchSize: 9,
    });
    await projector.start();
    await projector.waitFor(await log.headPosition());
    assert.deepEqual(await query(), expectedSummary(await allEvents(log)));
    await projector.stop();
    await writeOrders(log, 2, 2, "more-");
    const again = new Projector({
      backend: postgresProjection(pool, postgresSummary, { schema }),
      source: eventLogSource(log),
    });
    await again.start();
    await again.waitFor(await log.headPosition());
    assert.deepEqual(await query(), expectedSummary(await allEvents(log)));
    await again.rebuild();
    assert.equal(again.generation, 2);
    assert.deepEqual(await query(), expectedSummary(await allEvents(log)));
    await again.stop();
  } finally {
    await pool.end();
    await log.close();
  }
});

test("fed by herald serve through the SDK", { timeout: 30_000 }, async () => {
  const log = createMemoryLog();
  const server = await startServer({ log, port: 0, logLevel: "silent" });
  const client = new HeraldClient({ url: server.url });
  const db = new Database(":memory:");
  const projector = new Projector({
    backend: sqliteProjection(db, sqliteSummary),
    source: heraldSource(client, { pollIntervalMs: 20, pageSize: 5 }),
  });
  try {
    await writeOrders(log, 3, 2);
    assert.equal((await projector.lag()).events, await log.headPosition());
    await projector.start();
    await projector.waitFor(await log.headPosition());
    await writeOrders(log, 2, 1, "live-");
    await projector.waitFor(await log.headPosition());
    assert.deepEqual(rows(db), expectedSummary(await allEvents(log)));
    assert.deepEqual(await projector.lag(), {
      position: await log.headPosition(),
      events: 0,
      exact: true,
      seconds: 0,
    });
  } finally {
    await projector.stop();
    db.close();
    await client.close();
    await server.close();
    await log.close();
  }
});
