import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { openSqliteLog } from "@herald/log";
import { AckPolicy, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import { startServer } from "@herald/server";
import { spawnHerald } from "./lib/herald-child.js";
import {
  figures,
  type Figures as LoadFigures,
  RawConnection,
  round,
  serverCpuSeconds,
} from "./lib/http-load.js";
import { benchEvents } from "./lib/log-payload.js";

const quick = process.argv.includes("--quick");
const secondsFlag = process.argv.indexOf("--seconds");
const SECONDS = secondsFlag > 0 ? Number(process.argv[secondsFlag + 1]) : quick ? 0.5 : 5;
const CONNECTIONS = 64;
const BATCHES = [100, 1000] as const;
const BATCH_CONNECTIONS = 8;
const rateFlag = process.argv.indexOf("--rate");
const RATE = rateFlag > 0 ? Number(process.argv[rateFlag + 1]) : 5000;
const LATENCY_SECONDS = quick ? 0.5 : 5;
const variantsFlag = process.argv.indexOf("--variants");
/** Server settings per variant (env of the child); "default" sets nothing. */
const VARIANTS: Record<string, Record<string, string>> = {
  default: {},
  pool: { HERALD_COMMIT_SYNC: "thread-pool", HERALD_CHECKPOINT: "inline" },
  inline: { HERALD_COMMIT_SYNC: "inline", HERALD_CHECKPOINT: "inline" },
  "pool-bg": { HERALD_COMMIT_SYNC: "thread-pool", HERALD_CHECKPOINT: "background" },
  "inline-bg": { HERALD_COMMIT_SYNC: "inline", HERALD_CHECKPOINT: "background" },
};
const RUNS = (variantsFlag > 0 ? process.argv[variantsFlag + 1]! : "default").split(",");
for (const run of RUNS) if (!(run in VARIANTS)) throw new Error(`unknown variant ${run}`);
/** Events the log's own batched append rate is measured over (as in bench/log.ts). */
const LOG_BATCHED_EVENTS = quick ? 20_000 : 200_000;
const PAYLOAD = {
  order: "o-000000",
  customer: "c-42",
  items: [{ sku: "sku-1", qty: 2 }],
  note: "x".repeat(120),
};

// ---- helpers ------------------------------------------------------------------------------------------

interface Figures extends LoadFigures {
  /** The load generator's own CPU (this process) per event, and in cores busy over the phase. */
  generatorCpuUsPerEvent?: number;
  generatorCores?: number;
}

/** Runs a phase and adds this process's (the load generator's) CPU over it. */
async function withGeneratorCpu<T extends Figures>(phase: () => Promise<T>): Promise<T> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await phase();
  const cpu = process.cpuUsage(cpu0);
  const us = cpu.user + cpu.system;
  return {
    ...result,
    generatorCpuUsPerEvent: round(us / Math.max(1, result.events)),
    generatorCores: round(us / 1000 / (performance.now() - t0)),
  };
}

/** Runs a Herald phase and adds the server's CPU cost per event (µs). */
async function withCpu<T extends Figures>(
  url: URL,
  phase: () => Promise<T>,
): Promise<T & { serverCpuUsPerEvent: number }> {
  const before = await serverCpuSeconds(url);
  const result = await phase();
  const after = await serverCpuSeconds(url);
  return { ...result, serverCpuUsPerEvent: round(((after - before) * 1e6) / Math.max(1, result.events)) };
}

const SELF = fileURLToPath(import.meta.url);

let sequence = 0;
const PAYLOAD_JSON = JSON.stringify(PAYLOAD);
function eventJson(extra = ""): string {
  const id = `e-${process.pid}-${++sequence}`;
  return `{"specversion":"1.0","id":"${id}","source":"/bench","type":"com.example.order.placed","subject":"order-${sequence % 1000}"${extra},"datacontenttype":"application/json","data":${PAYLOAD_JSON}}`;
}

// ---- Herald ---------------------------------------------------------------------------------------

async function heraldSingle(url: URL, duration = SECONDS): Promise<Figures> {
  const head = `POST /events HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/cloudevents+json\r\n`;
  const connections = await Promise.all(Array.from({ length: CONNECTIONS }, () => RawConnection.open(url)));
  const latencies: number[] = [];
  let events = 0;
  const started = performance.now();
  const deadline = started + duration * 1000;
  await Promise.all(
    connections.map(async (connection) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const status = await connection.request(head, eventJson());
        if (status !== 200) throw new Error(`ingest answered ${status}`);
        latencies.push(performance.now() - t0);
        events++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const c of connections) c.close();
  return figures(events, seconds, latencies);
}

async function heraldBatched(url: URL, batch: number): Promise<Figures> {
  const head = `POST /events HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/cloudevents-batch+json\r\n`;
  const connections = await Promise.all(
    Array.from({ length: BATCH_CONNECTIONS }, () => RawConnection.open(url)),
  );
  const latencies: number[] = [];
  let events = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    connections.map(async (connection) => {
      while (performance.now() < deadline) {
        const body = `[${Array.from({ length: batch }, () => eventJson()).join(",")}]`;
        const t0 = performance.now();
        const status = await connection.request(head, body);
        if (status !== 200) throw new Error(`batch ingest answered ${status}`);
        latencies.push(performance.now() - t0);
        events += batch;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const c of connections) c.close();
  return figures(events, seconds, latencies);
}

/** The log's own batched append rate (bench/log.ts's "batched appends of 1000"), with the variant's settings. */
async function logBatched(dataDir: string, env: Record<string, string>, batch: number): Promise<Figures> {
  const events = benchEvents(LOG_BATCHED_EVENTS, `log-${process.pid}-${++sequence}`);
  const log = openSqliteLog({
    path: join(dataDir, `log-batched-${sequence}.db`),
    retentionIntervalMs: 0,
    commitSync: env.HERALD_COMMIT_SYNC === "inline" ? "inline" : "thread-pool",
    checkpoint: env.HERALD_CHECKPOINT === "background" ? "background" : "inline",
  });
  const latencies: number[] = [];
  const started = performance.now();
  for (let start = 0; start < events.length; start += batch) {
    const t0 = performance.now();
    await log.append(events.slice(start, start + batch));
    latencies.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  await log.close();
  return figures(events.length, seconds, latencies);
}

/** Publishes at RATE events/s for LATENCY_SECONDS through `send`; `received` collects (id → latency). */
async function paced(send: (id: string) => Promise<void>, total: number): Promise<void> {
  const started = performance.now();
  let sent = 0;
  const inflight: Promise<void>[] = [];
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE));
    for (; sent < due; sent++) inflight.push(send(`lat-${process.pid}-${sent}`));
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inflight);
}

async function heraldPushLatency(
  url: URL,
): Promise<(Figures & { delivered: number; rate: number }) | { skipped: string }> {
  const total = Math.round(RATE * LATENCY_SECONDS);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let finish: () => void = () => {};
  const allDelivered = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const sink: Server = createServer((req, res) => {
    const id = req.headers["ce-id"];
    req.resume();
    req.on("end", () => {
      const t0 = typeof id === "string" ? sentAt.get(id) : undefined;
      if (t0 !== undefined) {
        latencies.push(performance.now() - t0);
        sentAt.delete(id as string);
        if (latencies.length === total) finish();
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}/`;
  try {
    const created = await fetch(new URL("/subscriptions", url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        id: "bench-latency",
        sink: sinkUrl,
        filters: [{ exact: { type: "com.example.latency" } }],
        config: { start: "now", ordering: "none", maxInFlight: 1000 },
      }),
    });
    await created.text();
    if (created.status >= 300) return { skipped: `POST /subscriptions answered ${created.status}` };
    const head = `POST /events HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/cloudevents+json\r\n`;
    const pool = await Promise.all(Array.from({ length: 32 }, () => RawConnection.open(url)));
    const idle = [...pool];
    const waiters: Array<(c: RawConnection) => void> = [];
    const acquire = () =>
      new Promise<RawConnection>((resolve) => {
        const c = idle.pop();
        if (c) resolve(c);
        else waiters.push(resolve);
      });
    const release = (c: RawConnection) => {
      const next = waiters.shift();
      if (next) next(c);
      else idle.push(c);
    };
    const started = performance.now();
    await paced(async (id) => {
      const connection = await acquire();
      const body = `{"specversion":"1.0","id":"${id}","source":"/bench","type":"com.example.latency","data":${PAYLOAD_JSON}}`;
      sentAt.set(id, performance.now());
      const status = await connection.request(head, body);
      release(connection);
      if (status !== 200) throw new Error(`ingest answered ${status}`);
    }, total);
    await Promise.race([allDelivered, new Promise((r) => setTimeout(r, 30_000))]);
    const seconds = (performance.now() - started) / 1000;
    for (const c of pool) c.close();
    await fetch(new URL("/subscriptions/bench-latency", url), { method: "DELETE" }).then((r) => r.text());
    return { ...figures(latencies.length, seconds, latencies), delivered: latencies.length, rate: RATE };
  } finally {
    sink.close();
  }
}

// ---- NATS JetStream ---------------------------------------------------------------------------------

async function natsFigures(): Promise<
  | {
      single: Figures;
      batched: Record<string, Figures>;
      latency: Figures & { delivered: number; rate: number };
    }
  | { skipped: string }
> {
  let nc: Awaited<ReturnType<typeof natsConnect>>;
  try {
    nc = await natsConnect({ servers: "127.0.0.1:4222" });
  } catch (error) {
    return { skipped: `NATS not reachable: ${(error as Error).message}` };
  }
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = `HERALD_BENCH_${process.pid}`;
  const subject = `herald.bench.${process.pid}`;
  await jsm.streams.add({ name: stream, subjects: [`${subject}.>`], storage: StorageType.File });
  try {
    const payload = () => new TextEncoder().encode(eventJson());
    // 1. publish with ack from 64 concurrent publishers
    const single = await withGeneratorCpu(async () => {
      const latencies: number[] = [];
      let events = 0;
      const started = performance.now();
      const deadline = started + SECONDS * 1000;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < deadline) {
            const t0 = performance.now();
            await js.publish(`${subject}.single`, payload());
            latencies.push(performance.now() - t0);
            events++;
          }
        }),
      );
      return figures(events, (performance.now() - started) / 1000, latencies);
    });
    // 2. "batches": N async publishes, then wait for their acks
    const batchedOf = async (batch: number) => {
      const latencies: number[] = [];
      let events = 0;
      const started = performance.now();
      const deadline = started + SECONDS * 1000;
      await Promise.all(
        Array.from({ length: BATCH_CONNECTIONS }, async () => {
          while (performance.now() < deadline) {
            const t0 = performance.now();
            await Promise.all(Array.from({ length: batch }, () => js.publish(`${subject}.batch`, payload())));
            latencies.push(performance.now() - t0);
            events += batch;
          }
        }),
      );
      return figures(events, (performance.now() - started) / 1000, latencies);
    };
    const batched: Record<string, Figures> = {};
    for (const size of BATCHES) batched[String(size)] = await batchedOf(size);
    // 3. publish → durable pull consumer latency at RATE
    const latency = await (async () => {
      const total = Math.round(RATE * LATENCY_SECONDS);
      await jsm.consumers.add(stream, {
        durable_name: "bench",
        ack_policy: AckPolicy.Explicit,
        filter_subject: `${subject}.latency`,
      });
      const consumer = await js.consumers.get(stream, "bench");
      const messages = await consumer.consume({ max_messages: 1000 });
      const sentAt = new Map<string, number>();
      const latencies: number[] = [];
      const consuming = (async () => {
        for await (const m of messages) {
          const t0 = sentAt.get(m.string());
          if (t0 !== undefined) latencies.push(performance.now() - t0);
          m.ack();
          if (latencies.length === total) break;
        }
      })();
      const started = performance.now();
      await paced(async (id) => {
        sentAt.set(id, performance.now());
        await js.publish(`${subject}.latency`, id);
      }, total);
      await Promise.race([consuming, new Promise((r) => setTimeout(r, 30_000))]);
      await messages.close();
      return {
        ...figures(latencies.length, (performance.now() - started) / 1000, latencies),
        delivered: latencies.length,
        rate: RATE,
      };
    })();
    return { single, batched, latency };
  } finally {
    await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
  }
}

// ---- main -------------------------------------------------------------------------------------------

type Phase = Figures & { serverCpuUsPerEvent?: number };

const line = (name: string, f: Phase) =>
  console.log(
    `${name.padEnd(44)} ${String(f.eventsPerSec).padStart(9)} events/s   p50 ${f.p50ms.toFixed(3)} ms   p99 ${f.p99ms.toFixed(3)} ms` +
      (f.serverCpuUsPerEvent === undefined ? "" : `   server CPU ${f.serverCpuUsPerEvent} µs/event`) +
      (f.generatorCpuUsPerEvent === undefined
        ? ""
        : `   generator CPU ${f.generatorCpuUsPerEvent} µs/event (${f.generatorCores} cores)`),
  );

/** One fresh Herald server with a variant's settings: every Herald phase, with the ceilings beside them. */
async function heraldRun(name: string, env: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), "herald-bench-server-"));
  try {
    const { child, url } = await spawnHerald(SELF, dataDir, { env });
    let single: Phase;
    const batched: Record<string, Phase> = {};
    let push: Awaited<ReturnType<typeof heraldPushLatency>>;
    try {
      await heraldSingle(url, Math.min(1, SECONDS)); // warm-up (JIT), not measured
      single = await withCpu(url, () => withGeneratorCpu(() => heraldSingle(url)));
      line(`herald[${name}] single-event ingest (64 conns)`, single);
      for (const size of BATCHES) {
        batched[String(size)] = await withCpu(url, () => withGeneratorCpu(() => heraldBatched(url, size)));
        line(`herald[${name}] batched (${size}/req, ${BATCH_CONNECTIONS} conns)`, batched[String(size)]!);
      }
      push = await heraldPushLatency(url);
      if ("skipped" in push) console.log(`herald[${name}] publish→push latency: skipped (${push.skipped})`);
      else line(`herald[${name}] publish→push @${RATE}/s (${push.delivered} delivered)`, push);
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    // The ceilings, right after, while the machine is in the same state.
    const bare = await spawnHerald(SELF, dataDir, { mode: "--bare" });
    let bareSingle: Phase;
    try {
      await heraldSingle(bare.url, Math.min(1, SECONDS));
      bareSingle = await withGeneratorCpu(() => heraldSingle(bare.url));
      line(`bare node:http (after ${name}, 64 conns)`, bareSingle);
    } finally {
      bare.child.kill("SIGTERM");
      await new Promise((r) => bare.child.once("exit", r));
    }
    const logBatch = await logBatched(dataDir, env, 1000);
    line(`log's own batched append (1000, ${name})`, logBatch);
    const ratios = {
      singleToBare: round(single.eventsPerSec / bareSingle.eventsPerSec),
      batched1000ToLog: round(batched["1000"]!.eventsPerSec / logBatch.eventsPerSec),
    };
    console.log(
      `        herald[${name}] / bare node:http ${ratios.singleToBare}   batched 1000 / log's own ${ratios.batched1000ToLog}`,
    );
    return {
      variant: name,
      env,
      single,
      batched,
      push,
      bareHttp: bareSingle,
      logBatched1000: logBatch,
      ratios,
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(
    `herald server bench${quick ? " (quick)" : ""}: ${SECONDS}s per phase, runs ${RUNS.join(", ")}; CPU: 'server' from the server's /metrics, 'generator' = this process (the load generator)`,
  );
  const runs = [];
  for (const name of RUNS) runs.push(await heraldRun(name, VARIANTS[name]!));
  const nats = await natsFigures();
  if ("skipped" in nats) console.log(`nats    skipped: ${nats.skipped}`);
  else {
    console.log(
      "nats    JetStream file storage, defaults: sync_interval 2 min — the ack is NOT after an fsync",
    );
    line("nats    publish+ack (64 concurrent)", nats.single);
    for (const size of BATCHES) {
      line(
        `nats    async publish (${size} outstanding, ${BATCH_CONNECTIONS} pubs)`,
        nats.batched[String(size)]!,
      );
    }
    line(`nats    publish→pull consumer @${RATE}/s`, nats.latency);
    for (const run of runs)
      console.log(
        `        herald[${run.variant}] single / nats publish+ack ${round(run.single.eventsPerSec / nats.single.eventsPerSec)}`,
      );
  }
  const first = runs[0]!;
  const result = {
    bench: "server",
    quick,
    secondsPerPhase: SECONDS,
    herald: { singleIngest: first.single, batchedIngest: first.batched, pushLatency: first.push },
    runs,
    nats,
    natsSync: "JetStream default sync_interval (2 min): acks are not after an fsync",
    aims: {
      singleToNats: 1.0,
      singleToBareHttp: 0.8,
      batched1000ToLog: 0.7,
      pushP99ms: 5,
    },
  };
  console.log(JSON.stringify(result));
}

// ---- entry: child mode (the server under test) or the bench --------------------------------------------------------------

if (process.argv[2] === "--bare") {
  // The ceiling of the HTTP stack: read the body, answer a fixed JSON the size of Herald's answer.
  const answer = JSON.stringify({
    id: "e-000000-000000",
    source: "/bench",
    position: 123456,
    stream: "order-000",
    version: 123,
    duplicate: false,
  });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      Buffer.concat(chunks);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`READY http://127.0.0.1:${(server.address() as { port: number }).port}/
`);
  });
  process.on("SIGTERM", () => process.exit(0));
} else if (process.argv[2] === "--serve") {
  const server = await startServer({
    port: 0,
    dataDir: process.argv[3]!,
    // Diagnostics: HERALD_BENCH_STORAGE=memory / HERALD_BENCH_DURABILITY=normal isolate the HTTP layer's cost.
    storage: process.env.HERALD_BENCH_STORAGE === "memory" ? "memory" : "sqlite",
    durability: process.env.HERALD_BENCH_DURABILITY === "normal" ? "normal" : "full",
    ...(process.env.HERALD_COMMIT_SYNC === undefined
      ? {}
      : { commitSync: process.env.HERALD_COMMIT_SYNC === "inline" ? "inline" : "thread-pool" }),
    ...(process.env.HERALD_CHECKPOINT === undefined
      ? {}
      : { checkpoint: process.env.HERALD_CHECKPOINT === "background" ? "background" : "inline" }),
    logLevel: "silent",
    sinks: { allowList: [], allowPrivateNetworks: true },
  });
  process.stdout.write(`READY ${server.url}\n`);
  process.on("SIGTERM", () => {
    server.close().then(() => process.exit(0));
  });
} else {
  await main();
}
