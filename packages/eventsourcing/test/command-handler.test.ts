import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import {
  CommandConflictError,
  CommandHandler,
  type EventStore,
  eventLogStore,
  heraldStore,
  metadataSnapshotStore,
  type SnapshotStore,
  streamSnapshotStore,
  UnreadableEventError,
} from "@herald/eventsourcing";
import { createMemoryLog, type EventLog, openSqliteLog } from "@herald/log";
import { openPostgresLog } from "@herald/log-postgres";
import { EventDataValidationError, HeraldClient } from "@herald/sdk";
import { startServer } from "@herald/server";
import { catalog, type OrderCommand, OrderRuleError, orderDecider } from "./fixtures/order.js";
import { connection, freshSchema, needsPostgres } from "./support/pg.js";

const dir = mkdtempSync(join(tmpdir(), "herald-es-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function handler(
  store: EventStore,
  extra: {
    maxRetries?: number;
    snapshots?: { store: SnapshotStore; every: number; schemaVersion?: number };
  } = {},
) {
  return new CommandHandler({
    decider: orderDecider,
    events: catalog,
    store,
    source: "urn:test:orders",
    ...extra,
  });
}

test("handle: loads, decides, appends validated CloudEvents with subject = stream", async () => {
  const log = createMemoryLog();
  const orders = handler(eventLogStore(log));
  const placed = await orders.handle("order-1", { type: "place", customer: "ada" });
  assert.deepEqual(placed, {
    events: [{ type: "shop.order.placed", data: { customer: "ada" } }],
    state: { status: "open", items: 0 },
    version: 0,
    attempts: 1,
  });
  await orders.handle("order-1", { type: "add", sku: "tea", quantity: 2 });
  const shipped = await orders.handle("order-1", { type: "ship" });
  assert.deepEqual(shipped.state, { status: "shipped", items: 2 });
  const stored = await log.readStream("order-1");
  assert.deepEqual(
    stored.map((s) => [s.version, s.event.type, s.event.subject, s.event.source, s.event["dataversion"]]),
    [
      [0, "shop.order.placed", "order-1", "urn:test:orders", undefined],
      [1, "shop.order.item-added", "order-1", "urn:test:orders", 2],
      [2, "shop.order.shipped", "order-1", "urn:test:orders", undefined],
    ],
  );
  // Nothing decided: nothing appended.
  const again = await orders.handle("order-1", { type: "place", customer: "bob" });
  assert.equal(again.events.length, 0);
  assert.equal((await log.readStream("order-1")).length, 3);
  await log.close();
});

test("domain errors and invalid event data reach the caller and append nothing", async () => {
  const log = createMemoryLog();
  const orders = handler(eventLogStore(log));
  await orders.handle("o", { type: "place", customer: "ada" });
  await assert.rejects(
    orders.handle("o", { type: "ship" }),
    (e: unknown) => e instanceof OrderRuleError && e.code === "order-empty",
  );
  await assert.rejects(
    orders.handle("o", { type: "add", sku: "tea", quantity: 0 }),
    EventDataValidationError,
  );
  assert.equal((await log.readStream("o")).length, 1);
  await log.close();
});

test("old event versions are upcast on load; unreadable events are a typed error", async () => {
  const log = createMemoryLog();
  const orders = handler(eventLogStore(log));
  await orders.handle("o", { type: "place", customer: "ada" });
  // A v1 event (no dataversion) written by an older service.
  await log.append(
    [new CloudEvent({ source: "old", type: "shop.order.item-added", data: { item: "tea:3" } })],
    { stream: "o" },
  );
  assert.deepEqual((await orders.load("o")).state, { status: "open", items: 3 });
  await log.append([new CloudEvent({ source: "x", type: "shop.order.unknown", data: {} })], { stream: "o" });
  await assert.rejects(
    orders.load("o"),
    (e: unknown) => e instanceof UnreadableEventError && e.version === 2,
  );
  await log.close();
});

/** `writers` handlers add one item each to the same stream at once. */
async function race(store: EventStore, writers: number, maxRetries: number) {
  await handler(store).handle("race", { type: "place", customer: "ada" });
  const command: OrderCommand = { type: "add", sku: "tea", quantity: 1 };
  return Promise.allSettled(
    Array.from({ length: writers }, () => handler(store, { maxRetries }).handle("race", command)),
  );
}

async function assertConverged(log: EventLog, store: EventStore, writers: number) {
  const outcomes = await race(store, writers, 50);
  const results = outcomes.map((o) => {
    assert.equal(o.status, "fulfilled", o.status === "rejected" ? String(o.reason) : "");
    return (o as PromiseFulfilledResult<{ version: number; attempts: number }>).value;
  });
  // Exactly one writer won each version 1..writers.
  assert.deepEqual(
    results.map((r) => r.version).sort((a, b) => a - b),
    Array.from({ length: writers }, (_, i) => i + 1),
  );
  assert.ok(
    results.some((r) => r.attempts > 1),
    "the writers raced (some retried)",
  );
  const stream = await log.readStream("race");
  assert.deepEqual(
    stream.map((s) => s.version),
    Array.from({ length: writers + 1 }, (_, i) => i),
  );
  assert.deepEqual((await handler(store).load("race")).state, { status: "open", items: writers });
}

async function assertConflictSurfaced(store: EventStore) {
  const outcomes = await race(store, 6, 0);
  const won = outcomes.filter((o) => o.status === "fulfilled").length;
  const lost = outcomes.filter((o) => o.status === "rejected");
  assert.ok(won >= 1 && lost.length >= 1, `won ${won}, lost ${lost.length}`);
  for (const o of lost) {
    const reason = (o as PromiseRejectedResult).reason;
    assert.ok(reason instanceof CommandConflictError, String(reason));
    assert.equal(reason.attempts, 1);
    assert.equal(reason.stream, "race");
  }
  assert.deepEqual((await handler(store).load("race")).state.items, won);
}

test("concurrent handlers on one stream, SQLite log: one wins each version, retries converge", async () => {
  const log = await openSqliteLog({ path: join(dir, "race.db") });
  await assertConverged(log, eventLogStore(log), 8);
  await log.close();
  const log2 = await openSqliteLog({ path: join(dir, "race2.db") });
  await assertConflictSurfaced(eventLogStore(log2));
  await log2.close();
});

test("concurrent handlers on one stream, PostgreSQL log", { ...needsPostgres, timeout: 60_000 }, async () => {
  const log = await openPostgresLog({ connection, schema: freshSchema(), retentionIntervalMs: 0 });
  try {
    await assertConverged(log, eventLogStore(log), 8);
  } finally {
    await log.close();
  }
  const log2 = await openPostgresLog({ connection, schema: freshSchema(), retentionIntervalMs: 0 });
  try {
    await assertConflictSurfaced(eventLogStore(log2));
  } finally {
    await log2.close();
  }
});

test("through herald serve (HeraldClient): commands, conflicts as CommandConflictError, convergence", {
  timeout: 60_000,
}, async () => {
  const log = createMemoryLog();
  const server = await startServer({ log, port: 0, logLevel: "silent" });
  const client = new HeraldClient({ url: server.url });
  try {
    const store = heraldStore(client);
    assert.deepEqual(await store.readStream("never-written"), []);
    await assertConverged(log, store, 5);
  } finally {
    await client.close();
    await server.close();
    await log.close();
  }
  const log2 = createMemoryLog();
  const server2 = await startServer({ log: log2, port: 0, logLevel: "silent" });
  const client2 = new HeraldClient({ url: server2.url });
  try {
    await assertConflictSurfaced(heraldStore(client2));
  } finally {
    await client2.close();
    await server2.close();
    await log2.close();
  }
});

test("snapshots every N events: used when present, ignored when outdated, never needed", async () => {
  const log = createMemoryLog();
  const store = eventLogStore(log);
  const snapshots = metadataSnapshotStore(log.metadata);
  const orders = handler(store, { snapshots: { store: snapshots, every: 3 } });
  await orders.handle("s", { type: "place", customer: "ada" });
  for (let i = 0; i < 4; i++) await orders.handle("s", { type: "add", sku: "tea", quantity: 1 });
  // 5 events: one snapshot taken when the 3rd was appended (version 2).
  const snapshot = await snapshots.load("s");
  const idAt = async (version: number) =>
    (await log.readStream("s", { from: version, limit: 1 }))[0]!.event.id;
  assert.deepEqual(snapshot, {
    version: 2,
    eventId: await idAt(2),
    schemaVersion: 1,
    state: { status: "open", items: 2 },
  });
  assert.deepEqual((await orders.load("s")).state, (await handler(store).load("s")).state);
  // Proof the snapshot is read: a doctored one shows through…
  await snapshots.save("s", { ...snapshot!, state: { status: "open", items: 100 } });
  assert.deepEqual((await orders.load("s")).state.items, 102);
  // …unless its event is not the one at that version (another history).
  await snapshots.save("s", { ...snapshot!, eventId: "other", state: { status: "open", items: 100 } });
  assert.deepEqual((await orders.load("s")).state.items, 4);
  await snapshots.save("s", { ...snapshot!, state: { status: "open", items: 100 } });
  // …unless its schemaVersion is not the handler's.
  const v2 = handler(store, { snapshots: { store: snapshots, every: 3, schemaVersion: 2 } });
  assert.deepEqual((await v2.load("s")).state.items, 4);
  // Snapshots in a side stream work the same (and through herald serve).
  const side = streamSnapshotStore(store);
  const withSide = handler(store, { snapshots: { store: side, every: 2 } });
  await withSide.handle("s", { type: "add", sku: "tea", quantity: 1 });
  assert.deepEqual(await side.load("s"), {
    version: 5,
    eventId: await idAt(5),
    schemaVersion: 1,
    state: { status: "open", items: 5 },
  });
  assert.equal((await log.readStream("s.snapshots")).length, 1);
  await log.close();
});

test("a snapshot of another history of the stream (recreated) is ignored", async () => {
  const log = createMemoryLog();
  const store = eventLogStore(log);
  const snapshots = metadataSnapshotStore(log.metadata);
  await snapshots.save("r", {
    version: 0,
    eventId: "from-an-older-life",
    schemaVersion: 1,
    state: { status: "open", items: 9 },
  });
  const orders = handler(store, { snapshots: { store: snapshots, every: 100 } });
  await orders.handle("r", { type: "place", customer: "ada" });
  const added = await orders.handle("r", { type: "add", sku: "tea", quantity: 1 });
  assert.equal(added.version, 1);
  assert.deepEqual(added.state, { status: "open", items: 1 });
  await log.close();
});
