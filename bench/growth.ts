// The log as it grows: appends of 370-byte events with random UUIDv4 ids (the CloudEvents SDKs'
// default) over 10 000 streams, in batches of 1 000, until --events (default 10 million), with
// figures every --step events: append rate and p99, bytes on disk per event, RSS, read latencies.
// Beside it, in the same run and batch by batch, raw better-sqlite3 inserts of the same rows into
// the first release's schema (unique (id, source) index): what the design gains. At the end, the
// retention sweep: the oldest --sweep events deleted in the background while appends go on.
// Over the first step only, a third peer inserts the same rows with sequential ids ("g-1", "g-2" …)
// into the v1 schema: the first release's best case, which the window design aims to match with UUIDs.
// --alternatives adds two more raw peers, batch by batch: the log's events table with an on-disk index
// of 64-bit source+id hashes, and with no dedupe structure at all (the ceiling of the window design).
//   node bench/dist/growth.js [--events N] [--step N] [--sweep N] [--no-raw] [--raw-until N] [--alternatives] [--durability full|normal]
// --raw-until N stops the raw peer after N events (it is 3–5× slower than the log: at 10 million it
// takes most of the run's time).
// --events 100000000 takes it to 100 million (about 50 GB of disk for the two files).
// --backend postgres measures @herald/log-postgres instead (PostgreSQL on 127.0.0.1:5432, database
// `test`, or HERALD_BENCH_PG_URL; a fresh schema, dropped at the end), beside raw `pg` inserts of the
// same rows into a table of the same shape and indexes (the ceiling); bytes per event are the
// schema's relations (pg_total_relation_size: heap, TOAST, indexes). The SQLite peers are skipped.
// The last line of output is one JSON object with every figure.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudEvent } from "@herald/cloudevents";
import { type EventLog, openSqliteLog } from "@herald/log";
import { openPostgresLog } from "@herald/log-postgres";
import pg from "pg";
import { encode } from "./lib/log-payload.js";
import { openRawSqlite } from "./lib/log-raw.js";
import { perSecond, percentiles, ratio, round3 } from "./lib/log-stats.js";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} takes a non-negative integer`);
  return value;
}

const total = flag("--events", 10_000_000);
const step = flag("--step", Math.min(1_000_000, total));
const sweepCount = flag("--sweep", Math.min(1_000_000, Math.floor(total / 10)));
const backend: "sqlite" | "postgres" =
  process.argv[process.argv.indexOf("--backend") + 1] === "postgres" ? "postgres" : "sqlite";
const withRaw = !process.argv.includes("--no-raw") && backend === "sqlite";
const rawUntil = flag("--raw-until", Number.POSITIVE_INFINITY);
const withAlternatives = process.argv.includes("--alternatives") && backend === "sqlite";
const durability: "full" | "normal" =
  process.argv[process.argv.indexOf("--durability") + 1] === "normal" ? "normal" : "full";
const BATCH = 1000;
const STREAMS = 10_000;
const PROBE_STREAM = "probe";
/** Appends timed in each sweep phase (with and without retention running). */
const SWEEP_PHASE_BATCHES = 300;

const dir = mkdtempSync(join(tmpdir(), "herald-bench-growth-"));
const heraldPath = join(dir, "herald.db");
const rawPath = join(dir, "raw-v1.db");

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

let seq = 0;
const pad = "x".repeat(106);
function makeBatch(count: number, stream?: string): CloudEvent[] {
  const events: CloudEvent[] = new Array(count);
  for (let i = 0; i < count; i++) {
    seq += 1;
    events[i] = new CloudEvent({
      id: randomUUID(),
      source: `/bench/growth/producer-${seq % 100}`,
      type: "com.example.growth.measured",
      datacontenttype: "application/json",
      time: "2026-12-01T19:00:00.000Z",
      partitionkey: stream ?? `stream-${Math.floor(Math.random() * STREAMS)}`,
      data: { seq, pad },
    });
  }
  return events;
}

function fileBytes(path: string): number {
  let bytes = 0;
  for (const suffix of ["", "-wal"]) {
    try {
      bytes += statSync(path + suffix).size;
    } catch {
      // no WAL yet
    }
  }
  return bytes;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return round3(sorted[Math.floor(sorted.length / 2)] ?? 0);
}

const pgConnection: pg.PoolConfig =
  process.env["HERALD_BENCH_PG_URL"] !== undefined
    ? { connectionString: process.env["HERALD_BENCH_PG_URL"] }
    : { host: "127.0.0.1", port: 5432, user: "postgres", database: "test" };
const pgSchema = `herald_bench_growth_${process.pid}`;
const pgPool = backend === "postgres" ? new pg.Pool({ ...pgConnection, max: 2 }) : undefined;
const pgRaw =
  pgPool === undefined || process.argv.includes("--no-raw") ? undefined : await openRawPostgres(pgPool);
const log: EventLog =
  backend === "postgres"
    ? await openPostgresLog({ connection: pgConnection, schema: pgSchema, retentionIntervalMs: 0 })
    : openSqliteLog({ path: heraldPath, durability, retentionIntervalMs: 0 });

/** Bytes the log takes: database + WAL files, or the PostgreSQL schema's relations. */
async function storedBytes(): Promise<number> {
  if (pgPool === undefined) return fileBytes(heraldPath);
  const { rows } = await pgPool.query<{ bytes: string }>(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) AS bytes FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`,
    [pgSchema],
  );
  return Number(rows[0]!.bytes);
}

/** The PostgreSQL ceiling: raw multi-row inserts into a table shaped and indexed like the log's events. */
async function openRawPostgres(pool: pg.Pool) {
  const schema = `${pgSchema}_raw`;
  await pool.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".events (
    position bigserial PRIMARY KEY, source text NOT NULL, id text NOT NULL, stream text COLLATE "C" NOT NULL,
    version bigint NOT NULL, type text NOT NULL, recorded_at bigint NOT NULL, json text NOT NULL);
    CREATE UNIQUE INDEX ON "${schema}".events (source, id);
    CREATE INDEX ON "${schema}".events (stream, version);
    CREATE INDEX ON "${schema}".events (recorded_at)`);
  const versions = new Map<string, number>();
  const sql = `INSERT INTO "${schema}".events (source, id, stream, version, type, recorded_at, json)
    SELECT s, i, st, v, t, $6, j FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $7::text[])
    AS r(s, i, st, v, t, j)`;
  return {
    schema,
    /** One autocommitted insert of the batch; its time in ms. */
    async insert(events: readonly CloudEvent[], jsons: readonly string[]): Promise<number> {
      const streams = events.map((e) => String(e["partitionkey"]));
      const vs = streams.map((stream) => {
        const v = (versions.get(stream) ?? -1) + 1;
        versions.set(stream, v);
        return v;
      });
      const t0 = performance.now();
      await pool.query(sql, [
        events.map((e) => e.source),
        events.map((e) => e.id),
        streams,
        vs,
        events.map((e) => e.type),
        Date.now(),
        jsons,
      ]);
      return performance.now() - t0;
    },
    async bytes(): Promise<number> {
      const { rows } = await pool.query<{ bytes: string }>(
        `SELECT pg_total_relation_size('"${schema}".events') AS bytes`,
      );
      return Number(rows[0]!.bytes);
    },
  };
}
const raw = withRaw ? openRawSqlite(rawPath, durability, "v1") : undefined;
const alternatives: { name: string; path: string; times: number[]; db: ReturnType<typeof openRawSqlite> }[] =
  [];
if (withAlternatives) {
  const hashPath = join(dir, "raw-hash64.db");
  alternatives.push({
    name: "hash64",
    path: hashPath,
    times: [],
    db: openRawSqlite(hashPath, durability, "hash64"),
  });
  // The log's own schema, created by the log first.
  const plainPath = join(dir, "raw-no-dedupe.db");
  await openSqliteLog({ path: plainPath, retentionIntervalMs: 0 }).close();
  alternatives.push({
    name: "no-dedupe",
    path: plainPath,
    times: [],
    db: openRawSqlite(plainPath, durability, "log"),
  });
}

const seqPath = join(dir, "raw-v1-sequential.db");
const sequentialPeer = withRaw ? openRawSqlite(seqPath, durability, "v1") : undefined;
const sequentialTimes: number[] = [];
let sequentialId = 0;

let rawAppended = 0;
async function appendBoth(events: CloudEvent[], heraldTimes: number[], rawTimes: number[]): Promise<void> {
  const t0 = performance.now();
  await log.append(events);
  heraldTimes.push(performance.now() - t0);
  if (rawAppended >= rawUntil) return;
  rawAppended += events.length;
  if (raw === undefined && alternatives.length === 0 && pgRaw === undefined) return;
  const jsons = events.map(encode);
  if (pgRaw !== undefined) rawTimes.push(await pgRaw.insert(events, jsons));
  if (raw !== undefined) rawTimes.push(...raw.insertBatches(events, jsons, events.length));
  if (sequentialPeer !== undefined && sequentialId < step) {
    const renamed = events.map((event) => ({ ...event, id: `g-${++sequentialId}` }) as unknown as CloudEvent);
    const renamedJsons = jsons.map((json, i) => json.replace(events[i]!.id, renamed[i]!.id));
    sequentialTimes.push(...sequentialPeer.insertBatches(renamed, renamedJsons, events.length));
  }
  for (const alt of alternatives) alt.times.push(...alt.db.insertBatches(events, jsons, events.length));
}

/** Read latencies (ms, median of `samples`): catch-up from 0, one stream of 1 000, a page from the middle. */
async function measureReads(samples = 5) {
  const head = await log.headPosition();
  const catchUpEvents = Math.min(100_000, head);
  let t0 = performance.now();
  let after = 0;
  let read = 0;
  while (read < catchUpEvents) {
    const page = await log.read({ after, limit: 1000 });
    if (page.events.length === 0) break;
    for (const stored of page.events) read += stored.json.length > 0 ? 1 : 0;
    after = page.next;
  }
  const catchUpRate = perSecond(read, performance.now() - t0);
  const streamMs: number[] = [];
  const middleMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    t0 = performance.now();
    const events = await log.readStream(PROBE_STREAM, { limit: 1000 });
    if (events.length !== 1000) throw new Error(`probe stream has ${events.length} events`);
    streamMs.push(performance.now() - t0);
    t0 = performance.now();
    const page = await log.read({ after: Math.max(0, Math.floor(head / 2) - i * 97), limit: 1000 });
    if (page.events.length === 0) throw new Error("empty page in the middle of the log");
    middleMs.push(performance.now() - t0);
  }
  return {
    catchUpFrom0EventsPerSec: catchUpRate,
    catchUpEvents,
    stream1000Ms: median(streamMs),
    middlePage1000Ms: median(middleMs),
  };
}

interface StepRow {
  readonly events: number;
  readonly heraldEventsPerSec: number;
  readonly heraldP99Ms: number;
  readonly heraldBytesPerEvent: number;
  readonly rawEventsPerSec: number | null;
  readonly rawP99Ms: number | null;
  readonly rawBytesPerEvent: number | null;
  readonly rssMiB: number;
  readonly alternatives: Record<string, { eventsPerSec: number; p99Ms: number; bytesPerEvent: number }>;
  readonly reads: Awaited<ReturnType<typeof measureReads>>;
}

async function main(): Promise<void> {
  print(
    `@herald/log growth bench (${backend}) — ${total.toLocaleString("en")} events, batches of ${BATCH}, ${STREAMS} streams, UUIDv4 ids, durability ${durability}, node ${process.version}`,
  );
  print(`event size: ${encode(makeBatch(1)[0]!).length} bytes of JSON; files under ${dir}`);
  seq = 0;
  // The probe stream read at every step: 1 000 events, written first so they age with the log.
  await appendBoth(makeBatch(1000, PROBE_STREAM), [], []);
  const empty = await measureReads();
  print(
    `empty log (1 000 events): catch-up ${empty.catchUpFrom0EventsPerSec.toLocaleString("en")} ev/s, stream of 1 000 ${empty.stream1000Ms} ms, page from the middle ${empty.middlePage1000Ms} ms`,
  );
  print(
    `events      herald ev/s  p99 ms  B/event | ${backend === "postgres" ? "raw pg ev/s" : "raw v1 ev/s"}  p99 ms  B/event | RSS MiB | catch-up ev/s  stream ms  middle ms`,
  );
  const rows: StepRow[] = [];
  let appended = 1000;
  let sweepCutoffTime = 0;
  while (appended < total) {
    const before = appended;
    const heraldTimes: number[] = [];
    const rawTimes: number[] = [];
    const target = Math.min(total, (rows.length + 1) * step);
    while (appended < target) {
      const count = Math.min(BATCH, target - appended);
      await appendBoth(makeBatch(count), heraldTimes, rawTimes);
      appended += count;
      if (sweepCutoffTime === 0 && appended >= sweepCount) sweepCutoffTime = Date.now();
    }
    const stepEvents = appended - before;
    const heraldMs = heraldTimes.reduce((a, b) => a + b, 0);
    const rawMs = rawTimes.reduce((a, b) => a + b, 0);
    const reads = await measureReads();
    const row: StepRow = {
      events: appended,
      heraldEventsPerSec: perSecond(stepEvents, heraldMs),
      heraldP99Ms: percentiles(heraldTimes).p99,
      heraldBytesPerEvent: Math.round((await storedBytes()) / appended),
      rawEventsPerSec: rawTimes.length === 0 ? null : perSecond(stepEvents, rawMs),
      rawP99Ms: rawTimes.length === 0 ? null : percentiles(rawTimes).p99,
      rawBytesPerEvent:
        rawTimes.length === 0
          ? null
          : raw !== undefined
            ? Math.round(fileBytes(rawPath) / appended)
            : pgRaw !== undefined
              ? Math.round((await pgRaw.bytes()) / appended)
              : null,
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
      alternatives: Object.fromEntries(
        alternatives.map((alt) => {
          const figures = {
            eventsPerSec: perSecond(
              stepEvents,
              alt.times.reduce((a, b) => a + b, 0),
            ),
            p99Ms: percentiles(alt.times).p99,
            bytesPerEvent: Math.round(fileBytes(alt.path) / appended),
          };
          alt.times.length = 0;
          return [alt.name, figures];
        }),
      ),
      reads,
    };
    rows.push(row);
    print(
      `${String(row.events).padEnd(11)} ${String(row.heraldEventsPerSec).padStart(11)} ${String(row.heraldP99Ms).padStart(7)} ${String(row.heraldBytesPerEvent).padStart(8)} | ${String(row.rawEventsPerSec ?? "-").padStart(11)} ${String(row.rawP99Ms ?? "-").padStart(7)} ${String(row.rawBytesPerEvent ?? "-").padStart(8)} | ${String(row.rssMiB).padStart(7)} | ${String(reads.catchUpFrom0EventsPerSec).padStart(13)} ${String(reads.stream1000Ms).padStart(10)} ${String(reads.middlePage1000Ms).padStart(10)}${alternatives.map((alt) => ` | ${alt.name} ${row.alternatives[alt.name]!.eventsPerSec} ev/s p99 ${row.alternatives[alt.name]!.p99Ms} ms ${row.alternatives[alt.name]!.bytesPerEvent} B/event`).join("")}`,
    );
  }
  raw?.close();
  sequentialPeer?.close();
  const sequential =
    sequentialPeer === undefined
      ? null
      : {
          events: sequentialId,
          eventsPerSec: perSecond(
            sequentialId,
            sequentialTimes.reduce((a, b) => a + b, 0),
          ),
          p99Ms: percentiles(sequentialTimes).p99,
          bytesPerEvent: Math.round(fileBytes(seqPath) / Math.max(1, sequentialId)),
        };
  if (sequential !== null)
    print(
      `raw v1 with sequential ids over the first ${sequential.events.toLocaleString("en")}: ${sequential.eventsPerSec} ev/s, p99 ${sequential.p99Ms} ms, ${sequential.bytesPerEvent} B/event`,
    );
  for (const alt of alternatives) alt.db.close();

  // Retention at scale: p99 of appends without a sweep, then while the oldest `sweepCount` events
  // are deleted in the background (retention slices of 500 events, each its own group commit).
  const sweep = sweepCount > 0 ? await measureSweep(sweepCutoffTime) : null;
  await log.close();
  const closedBytes = await storedBytes();
  rmSync(dir, { recursive: true, force: true });
  if (pgPool !== undefined) {
    await pgPool.query(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`);
    if (pgRaw !== undefined) await pgPool.query(`DROP SCHEMA IF EXISTS "${pgRaw.schema}" CASCADE`);
    await pgPool.end();
  }

  const first = rows[0];
  const last = rows[rows.length - 1];
  /** The last step the raw peer ran (all of them unless --raw-until). */
  const lastRaw = [...rows].reverse().find((row) => row.rawEventsPerSec !== null);
  const summary = {
    bench: "growth",
    backend,
    events: total,
    step,
    batch: BATCH,
    streams: STREAMS,
    durability,
    eventBytes: encode(makeBatch(1)[0]!).length,
    empty,
    rows,
    sequentialIdsFirstStep: sequential,
    sweep,
    closedBytesPerEvent: Math.round(closedBytes / Math.max(1, appended)),
    aims: {
      heraldLastOverFirst: first && last ? ratio(last.heraldEventsPerSec, first.heraldEventsPerSec) : null,
      rawLastOverFirst:
        first?.rawEventsPerSec && lastRaw?.rawEventsPerSec
          ? ratio(lastRaw.rawEventsPerSec, first.rawEventsPerSec)
          : null,
      heraldFirstOverSequentialV1:
        first && sequential ? ratio(first.heraldEventsPerSec, sequential.eventsPerSec) : null,
      heraldOverRawAtLastRawStep: lastRaw?.rawEventsPerSec
        ? ratio(lastRaw.heraldEventsPerSec, lastRaw.rawEventsPerSec)
        : null,
      sweepP99OverBaseline: sweep === null ? null : ratio(sweep.duringP99Ms, sweep.baselineP99Ms),
    },
  };
  print(
    `aims: herald rate at the end / first step ${summary.aims.heraldLastOverFirst}×, raw v1 ${summary.aims.rawLastOverFirst ?? "-"}×; append p99 during the sweep / without ${summary.aims.sweepP99OverBaseline ?? "-"}×`,
  );
  print(JSON.stringify(summary));
}

async function measureSweep(cutoffTime: number) {
  const baseline: number[] = [];
  for (let i = 0; i < SWEEP_PHASE_BATCHES; i++) {
    const t0 = performance.now();
    await log.append(makeBatch(BATCH));
    baseline.push(performance.now() - t0);
  }
  const bytesBefore = await storedBytes();
  // Everything recorded before the time the log reached sweepCount events.
  const cutoffPosition = (await log.positionAtTime(cutoffTime)) - 1;
  log.setRetention([{ maxAgeMs: Date.now() - cutoffTime }]);
  const t0 = performance.now();
  let done = false;
  const running = log.runRetention().then((report) => {
    done = true;
    return report;
  });
  const during: number[] = [];
  while (!done) {
    const t = performance.now();
    await log.append(makeBatch(BATCH));
    during.push(performance.now() - t);
  }
  const report = await running;
  const sweepMs = performance.now() - t0;
  log.setRetention([]);
  const bytesAfterSweep = await storedBytes();
  // Deleted pages go to SQLite's freelist and new appends reuse them: the file should not grow
  // while the next events fill the space the sweep gave back.
  const refill: number[] = [];
  for (let i = 0; i < SWEEP_PHASE_BATCHES; i++) {
    const t = performance.now();
    await log.append(makeBatch(BATCH));
    refill.push(performance.now() - t);
  }
  const bytesAfterRefill = await storedBytes();
  const result = {
    deleted: report.deleted,
    cutoffPosition,
    sweepMs: Math.round(sweepMs),
    deletedPerSec: perSecond(report.deleted, sweepMs),
    appendsDuring: during.length * BATCH,
    baselineP99Ms: percentiles(baseline).p99,
    duringP99Ms: percentiles(during).p99,
    duringP50Ms: percentiles(during).p50,
    baselineP50Ms: percentiles(baseline).p50,
    fileBytesBefore: bytesBefore,
    fileBytesAfterSweep: bytesAfterSweep,
    fileBytesAfterAppending: bytesAfterRefill,
    appendedAfterSweep: SWEEP_PHASE_BATCHES * BATCH,
  };
  print(
    `sweep: deleted ${result.deleted.toLocaleString("en")} in ${result.sweepMs} ms (${result.deletedPerSec.toLocaleString("en")}/s) while appending ${result.appendsDuring.toLocaleString("en")}; append p99 ${result.baselineP99Ms} ms without, ${result.duringP99Ms} ms during; file ${bytesBefore} → ${bytesAfterSweep} B, then ${bytesAfterRefill} B after ${result.appendedAfterSweep.toLocaleString("en")} more events`,
  );
  return result;
}

await main();
