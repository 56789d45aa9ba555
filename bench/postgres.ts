// Benchmark of @herald/log-postgres beside raw node-postgres inserts into a table of the same shape
// (the ceiling), measured in the same run with A/B/A alternation; then HTTP ingest through 1, 2 and 3
// `herald serve` processes on one schema (cluster mode) beside one `herald serve` on SQLite (the
// peer, before and after). Needs PostgreSQL on 127.0.0.1:5432, database `test`, user postgres
// (HERALD_BENCH_PG_URL overrides it) and a build (the CLI in packages/cli/dist).
//   node bench/dist/postgres.js [--quick] [--http-only]
// The last line of output is one JSON object with every figure.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CloudEvent } from "@herald/cloudevents";
import { openPostgresLog } from "@herald/log-postgres";
import pg from "pg";
import { benchEvents, encode } from "./lib/log-payload.js";
import { type Percentiles, perSecond, percentiles, ratio } from "./lib/log-stats.js";

const quick = process.argv.includes("--quick");
const httpOnly = process.argv.includes("--http-only");
const sizes = quick
  ? { batched: 10_000, concurrent: 5_000, http: 3_000 }
  : { batched: 100_000, concurrent: 40_000, http: 30_000 };
/** Concurrent HTTP producers, spread round-robin over the instances; one event per request. */
const HTTP_PRODUCERS = 64;
const CLI = fileURLToPath(new URL("../../packages/cli/dist/src/main.js", import.meta.url));
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

function databaseUrl(): string {
  if (connection.connectionString !== undefined) return connection.connectionString;
  return `postgres://${connection.user}@${connection.host}:${connection.port}/${connection.database}`;
}

/** Starts `herald serve` with these flags; resolves with its URL once it listens. */
function serve(flags: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", "--log-format", "json", ...flags], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8");
    const onData = (chunk: string) => {
      out += chunk;
      const match = /"url":"([^"]+)"[^\n]*herald listening/.exec(out);
      if (match) {
        child.stdout!.off("data", onData);
        child.stdout!.resume();
        resolve({ child, url: match[1]! });
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code, signal) => reject(new Error(`herald serve exited early (${code ?? signal})`)));
  });
}

async function stopAll(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        }),
    ),
  );
}

/** HTTP producers, one structured event per POST /events, over the given instances. */
async function httpIngest(urls: readonly string[], events: CloudEvent[]): Promise<Throughput> {
  const bodies = events.map(encode);
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: HTTP_PRODUCERS }, async (_, producer) => {
      const url = `${urls[producer % urls.length]}/events`;
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const t = performance.now();
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/cloudevents+json" },
          body,
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`ingest answered ${res.status}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = performance.now() - t0;
  return { eventsPerSec: perSecond(events.length, elapsed), latencyMs: percentiles(latencies) };
}

async function httpPostgres(instances: number, events: CloudEvent[]): Promise<Throughput> {
  const schema = freshSchema();
  const started = await Promise.all(
    Array.from({ length: instances }, (_, i) =>
      serve(["--storage", "postgres", "--database-schema", schema, "--node-id", `bench-${i}`], {
        HERALD_DATABASE_URL: databaseUrl(),
      }),
    ),
  );
  try {
    return await httpIngest(
      started.map((s) => s.url),
      events,
    );
  } finally {
    await stopAll(started.map((s) => s.child));
  }
}

async function httpSqlite(events: CloudEvent[]): Promise<Throughput> {
  const dir = mkdtempSync(join(tmpdir(), "herald-bench-pg-"));
  const started = await serve(["--storage", "sqlite", "--data", dir]);
  try {
    return await httpIngest([started.url], events);
  } finally {
    await stopAll([started.child]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const admin = new pg.Client(connection);
await admin.connect();
try {
  let round = 0;
  const eventsFor = (count: number): CloudEvent[] => benchEvents(count, `pg-${process.pid}-${++round}`);
  // HTTP ingest: SQLite (A), PostgreSQL through 1, 2, 3 instances, SQLite again (A).
  const http: Record<string, Throughput> = {};
  const label = `HTTP ingest, ${HTTP_PRODUCERS} producers`;
  http["sqlite"] = await httpSqlite(eventsFor(sizes.http));
  show(`${label}: sqlite, 1 instance (A)`, http["sqlite"]);
  for (const n of [1, 2, 3]) {
    http[`postgres-${n}`] = await httpPostgres(n, eventsFor(sizes.http));
    show(`${label}: postgres, ${n} instance${n > 1 ? "s" : ""}`, http[`postgres-${n}`]!);
  }
  http["sqlite-again"] = await httpSqlite(eventsFor(sizes.http));
  show(`${label}: sqlite, 1 instance (A again)`, http["sqlite-again"]);
  if (httpOnly) {
    process.stdout.write(`${JSON.stringify({ bench: "postgres", quick, http })}\n`);
  } else {
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
    process.stdout.write(`${JSON.stringify({ bench: "postgres", quick, batched, concurrent, http })}\n`);
  }
} finally {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
}
