// Benchmark of @herald/log-postgres beside raw node-postgres inserts into a table of the same shape
// (the ceiling), measured in the same run with A/B/A alternation. Needs PostgreSQL on
// 127.0.0.1:5432, database `test`, user postgres (HERALD_BENCH_PG_URL overrides it).
//   node bench/dist/postgres.js [--quick]
// The last line of output is one JSON object with every figure.
import type { CloudEvent } from "@herald/cloudevents";
import { openPostgresLog } from "@herald/log-postgres";
import pg from "pg";
import { benchEvents, encode } from "./lib/log-payload.js";
import { type Percentiles, perSecond, percentiles, ratio } from "./lib/log-stats.js";

const quick = process.argv.includes("--quick");
const sizes = quick ? { batched: 10_000, concurrent: 5_000 } : { batched: 100_000, concurrent: 40_000 };
const BATCH = 100;
const PRODUCERS = 100;
const connection: pg.PoolConfig =
  process.env["HERALD_BENCH_PG_URL"] !== undefined
    ? { connectionString: process.env["HERALD_BENCH_PG_URL"] }
    : { host: "127.0.0.1", port: 5432, user: "postgres", database: "test" };

interface Throughput {
  readonly eventsPerSec: number;
  readonly latencyMs: Percentiles;
}

const schemas: string[] = [];
let tag = 0;
function freshSchema(): string {
  const name = `herald_bench_${process.pid}_${++tag}`;
  schemas.push(name);
  return name;
}

async function heraldBatched(events: CloudEvent[]): Promise<Throughput> {
  const log = await openPostgresLog({ connection, schema: freshSchema(), retentionIntervalMs: 0 });
  const latencies: number[] = [];
  const t0 = performance.now();
  for (let start = 0; start < events.length; start += BATCH) {
    const t = performance.now();
    await log.append(events.slice(start, start + BATCH));
    latencies.push(performance.now() - t);
  }
  const elapsed = performance.now() - t0;
  await log.close();
  return { eventsPerSec: perSecond(events.length, elapsed), latencyMs: percentiles(latencies) };
}

/** Many producers, one event per append: what group commit is for. */
async function heraldConcurrent(events: CloudEvent[]): Promise<Throughput> {
  const log = await openPostgresLog({ connection, schema: freshSchema(), retentionIntervalMs: 0 });
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (next < events.length) {
        const event = events[next++]!;
        const t = performance.now();
        await log.append([event]);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = performance.now() - t0;
  await log.close();
  return { eventsPerSec: perSecond(events.length, elapsed), latencyMs: percentiles(latencies) };
}

async function rawTable(pool: pg.Pool): Promise<string> {
  const schema = freshSchema();
  await pool.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".events (
    position bigserial PRIMARY KEY, source text NOT NULL, id text NOT NULL, stream text NOT NULL,
    type text NOT NULL, recorded_at bigint NOT NULL, json text NOT NULL);
    CREATE UNIQUE INDEX ON "${schema}".events (source, id)`);
  return `"${schema}".events`;
}

const RAW_INSERT = (table: string): string =>
  `INSERT INTO ${table} (source, id, stream, type, recorded_at, json)
   SELECT s, i, st, t, $5, j FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $6::text[]) AS r(s, i, st, t, j)`;

function columns(events: readonly CloudEvent[]): unknown[] {
  return [
    events.map((e) => e.source),
    events.map((e) => e.id),
    events.map((e) => String(e["partitionkey"])),
    events.map((e) => e.type),
    Date.now(),
    events.map(encode),
  ];
}

/** Raw multi-row inserts (autocommit) on one connection: no versions, no dedupe answers, no ordering guarantee. */
async function rawBatched(events: CloudEvent[]): Promise<Throughput> {
  const pool = new pg.Pool({ ...connection, max: 1 });
  const table = await rawTable(pool);
  const sql = RAW_INSERT(table);
  const latencies: number[] = [];
  const t0 = performance.now();
  for (let start = 0; start < events.length; start += BATCH) {
    const t = performance.now();
    await pool.query(sql, columns(events.slice(start, start + BATCH)));
    latencies.push(performance.now() - t);
  }
  const elapsed = performance.now() - t0;
  await pool.end();
  return { eventsPerSec: perSecond(events.length, elapsed), latencyMs: percentiles(latencies) };
}

/** Raw one-row inserts from the same producers over a pool of 4 connections (the log's pool size). */
async function rawConcurrent(events: CloudEvent[]): Promise<Throughput> {
  const pool = new pg.Pool({ ...connection, max: 4 });
  const table = await rawTable(pool);
  const sql = RAW_INSERT(table);
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (next < events.length) {
        const event = events[next++]!;
        const t = performance.now();
        await pool.query(sql, columns([event]));
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = performance.now() - t0;
  await pool.end();
  return { eventsPerSec: perSecond(events.length, elapsed), latencyMs: percentiles(latencies) };
}

function show(name: string, result: Throughput): void {
  const { p50, p99 } = result.latencyMs;
  process.stdout.write(
    `${name.padEnd(40)} ${String(result.eventsPerSec).padStart(8)} events/s  p50 ${p50} ms  p99 ${p99} ms\n`,
  );
}

/** A/B/A: the peer runs before and after, so drift of the shared machine shows. */
async function abA(
  label: string,
  herald: () => Promise<Throughput>,
  raw: () => Promise<Throughput>,
): Promise<{ herald: Throughput; raw: [Throughput, Throughput]; ratio: number }> {
  const raw1 = await raw();
  show(`${label}: raw pg (A)`, raw1);
  const ours = await herald();
  show(`${label}: herald log-postgres (B)`, ours);
  const raw2 = await raw();
  show(`${label}: raw pg (A again)`, raw2);
  const peer = (raw1.eventsPerSec + raw2.eventsPerSec) / 2;
  return { herald: ours, raw: [raw1, raw2], ratio: ratio(ours.eventsPerSec, peer) };
}

const admin = new pg.Client(connection);
await admin.connect();
try {
  let round = 0;
  const eventsFor = (count: number): CloudEvent[] => benchEvents(count, `pg-${process.pid}-${++round}`);
  const batched = await abA(
    `batched x${BATCH}`,
    () => heraldBatched(eventsFor(sizes.batched)),
    () => rawBatched(eventsFor(sizes.batched)),
  );
  const concurrent = await abA(
    `${PRODUCERS} producers, 1 event each`,
    () => heraldConcurrent(eventsFor(sizes.concurrent)),
    () => rawConcurrent(eventsFor(sizes.concurrent)),
  );
  process.stdout.write(`${JSON.stringify({ bench: "postgres", quick, batched, concurrent })}\n`);
} finally {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
}
