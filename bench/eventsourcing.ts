// @herald/eventsourcing benchmark.
//   1. Command handling (load the stream, fold, decide, append with the expected version), 16 commands
//      in flight over 64 streams, on the SQLite log (durability "full") and on the PostgreSQL log,
//      beside a bare append of the same events (no load, no decide) on the same log: commands/s and
//      latency p50/p99.
//   2. Outbox relay throughput: rows written to a SQLite outbox, relayed to an in-process herald serve
//      (memory log), batched across keys and one request per key, against publishing the same
//      events directly with client.sendBatch in batches of the relay's size, same run.
// Usage: node bench/dist/eventsourcing.js [--quick]   (PostgreSQL: HERALD_BENCH_PG_URL, default
// postgres://postgres@127.0.0.1:5432/test; skipped when unreachable)
// Last line of output: one JSON object with every figure.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudEvent } from "@herald/cloudevents";
import {
  CommandHandler,
  type Decider,
  eventLogStore,
  heraldPublisher,
  OutboxRelay,
  sqliteOutbox,
} from "@herald/eventsourcing";
import { createMemoryLog, type EventLog, openSqliteLog } from "@herald/log";
import { openPostgresLog } from "@herald/log-postgres";
import { defineEvent, HeraldClient } from "@herald/sdk";
import { startServer } from "@herald/server";
import { Type } from "@sinclair/typebox";
import Database from "better-sqlite3";
import pg from "pg";
import { percentiles, perSecond } from "./lib/log-stats.js";

const quick = process.argv.includes("--quick");
const COMMANDS = quick ? 500 : 5_000;
const STREAMS = 64;
const IN_FLIGHT = 16;
const OUTBOX_ROWS = quick ? 1_000 : 10_000;
const RELAY_BATCH = 100;

const Added = defineEvent({ type: "bench.counter.added", schema: Type.Object({ by: Type.Integer() }) });
const catalog = { "bench.counter.added": Added };
const counter: Decider<{ by: number }, number, { type: "bench.counter.added"; data: { by: number } }> = {
  initialState: () => 0,
  decide: (command) => [{ type: "bench.counter.added", data: { by: command.by } }],
  evolve: (state, event) => state + event.data.by,
};

async function timed(count: number, run: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await run(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { perSecond: perSecond(count, performance.now() - started), ...percentiles(latencies) };
}

async function commandBench(log: EventLog, prefix: string) {
  const handler = new CommandHandler({
    decider: counter,
    events: catalog,
    store: eventLogStore(log),
    source: "urn:bench",
    maxRetries: 20,
  });
  const commands = await timed(COMMANDS, async (i) => {
    await handler.handle(`${prefix}c-${i % STREAMS}`, { by: 1 });
  });
  const appends = await timed(COMMANDS, async (i) => {
    await log.append([Added.create({ source: "urn:bench", data: { by: 1 } })], {
      stream: `${prefix}a-${i % STREAMS}`,
    });
  });
  return { commands, bareAppends: appends };
}

async function outboxBench() {
  const dir = mkdtempSync(join(tmpdir(), "herald-bench-outbox-"));
  const log = createMemoryLog();
  const server = await startServer({ log, port: 0, logLevel: "silent" });
  const client = new HeraldClient({ url: server.url });
  try {
    const db = new Database(join(dir, "outbox.db"));
    db.pragma("journal_mode = WAL");
    const outbox = sqliteOutbox(db);
    const event = (i: number, tag: string) =>
      new CloudEvent({
        source: `urn:bench:${tag}`,
        type: "bench.thing",
        subject: `k${i % STREAMS}`,
        data: { i },
      });
    // The same rows twice: relayed one request per key (the relay before it batched across keys:
    // a publisher without `batch`), and one request per claim.
    const perKeyOutbox = sqliteOutbox(db, { table: "herald_outbox_per_key" });
    db.transaction(() => {
      for (let i = 0; i < OUTBOX_ROWS; i++) {
        outbox.add([event(i, "outbox")]);
        perKeyOutbox.add([event(i, "outbox-per-key")]);
      }
    })();
    const batched = heraldPublisher(client);
    const perKeyRelay = new OutboxRelay({
      store: perKeyOutbox.store,
      publish: (events, key) => batched(events, key),
      batchSize: RELAY_BATCH,
    });
    let started = performance.now();
    await perKeyRelay.drain();
    const relayedPerKey = perSecond(OUTBOX_ROWS, performance.now() - started);
    const relay = new OutboxRelay({
      store: outbox.store,
      publish: batched,
      batchSize: RELAY_BATCH,
    });
    started = performance.now();
    await relay.drain();
    const relayed = perSecond(OUTBOX_ROWS, performance.now() - started);
    started = performance.now();
    for (let i = 0; i < OUTBOX_ROWS; i += RELAY_BATCH) {
      const batch = Array.from({ length: Math.min(RELAY_BATCH, OUTBOX_ROWS - i) }, (_, j) =>
        event(i + j, "direct"),
      );
      const result = await client.sendBatch(batch);
      if (!result.ok) throw new Error("direct publish failed");
    }
    const direct = perSecond(OUTBOX_ROWS, performance.now() - started);
    db.close();
    return {
      relayEventsPerSecond: relayed,
      relayPerKeyEventsPerSecond: relayedPerKey,
      directEventsPerSecond: direct,
      relayToDirect: Math.round((relayed / direct) * 100) / 100,
    };
  } finally {
    await client.close();
    await server.close();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: Record<string, unknown> = {};
const dir = mkdtempSync(join(tmpdir(), "herald-bench-es-"));
try {
  const sqlite = await openSqliteLog({ path: join(dir, "log.db"), durability: "full" });
  results["sqlite"] = await commandBench(sqlite, "");
  await sqlite.close();
  console.log("SQLite log:", JSON.stringify(results["sqlite"]));

  const url = process.env["HERALD_BENCH_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
  const schema = `herald_bench_es_${process.pid}`;
  try {
    const postgres = await openPostgresLog({
      connection: { connectionString: url },
      schema,
      retentionIntervalMs: 0,
    });
    try {
      results["postgres"] = await commandBench(postgres, "");
    } finally {
      await postgres.close();
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
    console.log("PostgreSQL log:", JSON.stringify(results["postgres"]));
  } catch (error) {
    console.log(`PostgreSQL skipped: ${(error as Error).message}`);
  }

  results["outbox"] = await outboxBench();
  console.log("outbox relay vs direct publish:", JSON.stringify(results["outbox"]));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ commands: COMMANDS, streams: STREAMS, inFlight: IN_FLIGHT, ...results }));
