// The console's queries on a big log: builds a SQLite log of 1 000 000 events with the log API
// directly (batches of 1 000, durability "normal"), one in ten of them part of a conversation (a chain
// of causationid/correlationid), starts `herald serve` on it with a few subscriptions (one with dead
// letters), and times each endpoint the console calls over real HTTP, beside the same read made on the
// log API in-process (the peer: what the query costs without HTTP and JSON). Aim: every view < 1 s.
//   node bench/dist/console.js [--events N] [--repeats N]
// The last line of output is one JSON object with every figure.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CloudEvent } from "@herald/cloudevents";
import { type EventLog, openSqliteLog } from "@herald/log";
import { DATABASE_FILE, startServer } from "@herald/server";

const arg = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const EVENTS = arg("--events", 1_000_000);
const REPEATS = arg("--repeats", 7);
const BATCH = 1000;
/** Events per conversation: order → payment → shipment → … (a causation chain sharing a correlation id). */
const CHAIN = 10;
const STREAMS = 10_000;

const dir = mkdtempSync(join(tmpdir(), "herald-bench-console-"));
const path = join(dir, DATABASE_FILE);
const pad = "x".repeat(120);

/** Event i: every 10th block of CHAIN events is one conversation; the rest are plain. */
function eventAt(i: number): CloudEvent {
  const conversation = Math.floor(i / CHAIN);
  const linked = conversation % 10 === 0;
  const step = i % CHAIN;
  return new CloudEvent({
    id: `e-${i}`,
    source: `/bench/svc-${i % 20}`,
    type: i % 50_000 === 7 ? "com.example.rare" : linked ? `com.example.step.${step}` : "com.example.plain",
    subject: `stream-${i % STREAMS}`,
    time: "2026-12-02T05:00:00.000Z",
    datacontenttype: "application/json",
    ...(linked && step > 0 ? { causationid: `e-${i - 1}`, correlationid: `e-${i - step}` } : {}),
    data: { i, pad },
  });
}

async function build(): Promise<number> {
  const log = openSqliteLog({ path, durability: "normal", retentionIntervalMs: 0 });
  const started = performance.now();
  const inFlight: Promise<unknown>[] = [];
  for (let from = 0; from < EVENTS; from += BATCH) {
    const events: CloudEvent[] = [];
    for (let i = from; i < Math.min(EVENTS, from + BATCH); i++) events.push(eventAt(i));
    inFlight.push(log.append(events));
    if (inFlight.length >= 8) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  await log.close();
  return (performance.now() - started) / 1000;
}

interface Timing {
  readonly p50: number;
  readonly max: number;
  readonly bytes: number;
}

async function time(run: () => Promise<number>): Promise<Timing> {
  const samples: number[] = [];
  let bytes = 0;
  for (let i = 0; i < REPEATS; i++) {
    const started = performance.now();
    bytes = await run();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return { p50: round(samples[Math.floor(samples.length / 2)]!), max: round(samples.at(-1)!), bytes };
}

async function main(): Promise<void> {
  console.log(
    `herald console bench — ${EVENTS.toLocaleString("en")} events in SQLite, node ${process.version}`,
  );
  const buildSeconds = await build();
  console.log(
    `built the log in ${buildSeconds.toFixed(1)} s (${Math.round(EVENTS / buildSeconds).toLocaleString("en")} ev/s)`,
  );
  // A sink that rejects everything: its subscription dead-letters what it matches.
  const sink = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(400);
      res.end();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`;
  const server = await startServer({ port: 0, dataDir: dir, storage: "sqlite", logLevel: "silent" });
  const base = server.url;
  const call = async (method: string, route: string, body?: unknown): Promise<number> => {
    const res = await fetch(base + route, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${route}: ${res.status} ${text.slice(0, 200)}`);
    return text.length;
  };
  await call("POST", "/subscriptions", { id: "billing", types: ["com.example.step.1"] });
  await call("POST", "/subscriptions", { id: "everything", config: { start: "beginning" } });
  await call("POST", "/subscriptions", { id: "rejected", sink: sinkUrl, types: ["com.example.rare"] });
  // Wait until the rare events (one per 50 000) are dead letters.
  const rare = Math.floor((EVENTS - 8) / 50_000) + 1;
  for (;;) {
    const stats = JSON.parse(await (await fetch(`${base}/subscriptions/rejected/stats`)).text()) as {
      deadLettered: number;
    };
    if (stats.deadLettered >= rare) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const log: EventLog = server.log;
  const middle = Math.floor(EVENTS / 2);
  // A conversation in the middle of the log, and its root and last step.
  const conversation = Math.floor(middle / CHAIN / 10) * 10 * CHAIN;
  const root = conversation;
  const leaf = conversation + CHAIN - 1;
  const rows: Array<[string, () => Promise<number>, (() => Promise<unknown>) | undefined]> = [
    ["events, first page (100)", () => call("GET", "/events?limit=100"), () => log.read({ limit: 100 })],
    [
      "events, page in the middle",
      () => call("GET", `/events?after=${middle}&limit=100`),
      () => log.read({ after: middle, limit: 100 }),
    ],
    [
      "events, CESQL filter (rare type)",
      () => call("GET", `/events?filter=${encodeURIComponent("type = 'com.example.rare'")}&limit=100`),
      undefined,
    ],
    [
      "events, filter in the middle",
      () =>
        call("GET", `/events?after=${middle}&filter=${encodeURIComponent("subject = 'stream-7'")}&limit=100`),
      undefined,
    ],
    ["streams list (100)", () => call("GET", "/streams?limit=100"), () => log.listStreams({ limit: 100 })],
    [
      "one stream, first page",
      () => call("GET", "/streams/stream-4242?limit=100"),
      () => log.readStream("stream-4242", { limit: 100 }),
    ],
    [
      "one stream, newest first",
      () => call("GET", "/streams/stream-4242?direction=backwards&limit=100"),
      () => log.readStream("stream-4242", { limit: 100, direction: "backwards" }),
    ],
    [
      "lineage of a leaf (source+id)",
      () =>
        call("GET", `/events/lineage?source=${encodeURIComponent(`/bench/svc-${leaf % 20}`)}&id=e-${leaf}`),
      () => log.readLinked("id", `e-${leaf}`),
    ],
    [
      "lineage of a root (position)",
      () => call("GET", `/events/lineage?position=${root + 1}`),
      () => log.readLinked("causationid", `e-${root}`),
    ],
    [
      "correlation page",
      () => call("GET", `/correlations/e-${root}?limit=100`),
      () => log.readLinked("correlationid", `e-${root}`, { limit: 100 }),
    ],
    ["subscriptions list", () => call("GET", "/subscriptions"), undefined],
    ["stats of all subscriptions", () => call("GET", "/stats/subscriptions"), undefined],
    ["subscription stats (lag 1 M)", () => call("GET", "/subscriptions/everything/stats"), undefined],
    ["dead letters (100)", () => call("GET", "/subscriptions/rejected/dead-letters?limit=100"), undefined],
    [
      "dead letters, filtered",
      () => call("GET", "/subscriptions/rejected/dead-letters?reason=rejected"),
      undefined,
    ],
    [
      "redrive dry run",
      () => call("POST", "/subscriptions/rejected/dead-letters/redrive", { dryRun: true }),
      undefined,
    ],
    [
      "reset dry run (to a time)",
      () => call("POST", "/subscriptions/billing/reset", { time: "2020-01-01T00:00:00Z", dryRun: true }),
      undefined,
    ],
    ["delivery ledger", () => call("GET", "/subscriptions/rejected/deliveries"), undefined],
    ["health series (15 min)", () => call("GET", "/stats/series"), undefined],
  ];
  const results: Record<string, { http: Timing; logApiP50?: number }> = {};
  let slowest = 0;
  for (const [name, viaHttp, direct] of rows) {
    const http = await time(viaHttp);
    const peer =
      direct === undefined
        ? undefined
        : await time(async () => {
            await direct();
            return 0;
          });
    results[name] = { http, ...(peer !== undefined ? { logApiP50: peer.p50 } : {}) };
    slowest = Math.max(slowest, http.max);
    console.log(
      `${name.padEnd(34)} http p50 ${String(http.p50).padStart(8)} ms, max ${String(http.max).padStart(8)} ms, ${String(http.bytes).padStart(7)} B` +
        (peer !== undefined ? ` | log API p50 ${peer.p50} ms` : ""),
    );
  }
  console.log(`slowest view: ${slowest} ms (aim < 1000 ms)`);
  await server.close();
  sink.closeAllConnections();
  await new Promise<void>((resolve) => sink.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      bench: "console",
      events: EVENTS,
      repeats: REPEATS,
      buildSeconds,
      slowestMs: slowest,
      results,
    }),
  );
}

await main();
