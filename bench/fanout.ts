// Fan-out benchmark: batched ingest (100 events per request, 8 connections) into `herald serve` while it
// holds 1, 100, 1 000 and 10 000 subscriptions, side by side with NATS JetStream holding as many durable
// consumers in the same run.
//   non-matching: every subscription (consumer) filters on a type (subject) no event has;
//   10 % matching: a tenth of them match every event. They are pull subscriptions with no consumer
//     attached (JetStream: pull consumers nobody fetches from), so each fills its window and then waits
//     behind: what a broker pays for stalled consumer groups.
// Also: the server's RSS per idle subscription, and the CPU of the server and of the load generator.
// The server runs in a child process, SQLite with durability "full" (fsync per group commit). JetStream
// uses file storage with its default sync (fsync every 2 minutes, not per publish).
// Usage: node bench/dist/fanout.js [--quick] [--seconds N] [--max N]. The LAST line is one JSON object.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { AckPolicy, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import { startServer } from "@herald/server";
import { spawnHerald, stopHerald } from "./lib/herald-child.js";
import { type Figures, figures, postLoad, round, serverCpuSeconds } from "./lib/http-load.js";

const quick = process.argv.includes("--quick");
const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = flag("--seconds", quick ? 1 : 5);
const MAX = flag("--max", quick ? 1000 : 10_000);
const COUNTS = [1, 100, 1000, 10_000].filter((n) => n <= MAX);
const BATCH = 100;
const CONNECTIONS = 8;
const TYPE = "com.example.order.placed";
const PAYLOAD_JSON = JSON.stringify({
  order: "o-000000",
  customer: "c-42",
  items: [{ sku: "sku-1", qty: 2 }],
  note: "x".repeat(120),
});

let sequence = 0;
function eventJson(): string {
  const id = `f-${process.pid}-${++sequence}`;
  return `{"specversion":"1.0","id":"${id}","source":"/bench","type":"${TYPE}","subject":"order-${sequence % 1000}","datacontenttype":"application/json","data":${PAYLOAD_JSON}}`;
}
const batchBody = () => `[${Array.from({ length: BATCH }, eventJson).join(",")}]`;

interface Phase extends Figures {
  subscriptions: number;
  matching: number;
  serverCpuUsPerEvent?: number;
  loadCpuUsPerEvent: number;
}

// ---- Herald ---------------------------------------------------------------------------------------------

async function heapUsedBytes(url: URL): Promise<number> {
  const text = await (await fetch(new URL("/metrics", url))).text();
  return Number(/^herald_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) * 1024;
}

/** Creates subscriptions `from` … `to - 1` (8 requests at a time); `matching(i)` picks who gets the events. */
async function createSubscriptions(
  url: URL,
  from: number,
  to: number,
  matching: (i: number) => boolean,
): Promise<number> {
  const started = performance.now();
  let next = from;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < to) {
        const i = next++;
        const res = await fetch(new URL("/subscriptions", url), {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            id: `fan-${i}`,
            types: [matching(i) ? TYPE : `com.example.none.${i}`],
            config: { start: "now" },
          }),
        });
        if (res.status !== 201)
          throw new Error(`create subscription answered ${res.status}: ${await res.text()}`);
      }
    }),
  );
  return (to - from) / ((performance.now() - started) / 1000);
}

async function heraldSeries(matchingShare: number): Promise<{
  phases: Phase[];
  rss: Array<{ subscriptions: number; rssMiB: number; heapMiB: number }>;
  createPerSec: number;
}> {
  const dataDir = mkdtempSync(join(tmpdir(), "herald-bench-fanout-"));
  const { child, url } = await spawnHerald(fileURLToPath(import.meta.url), dataDir);
  const phases: Phase[] = [];
  const rss: Array<{ subscriptions: number; rssMiB: number; heapMiB: number }> = [];
  let created = 0;
  let createPerSec = 0;
  try {
    // Warm-up: the JIT and SQLite's page cache, before the first measured phase.
    await postLoad({
      url,
      path: "/events",
      contentType: "application/cloudevents-batch+json",
      connections: CONNECTIONS,
      seconds: 1,
      eventsPerRequest: BATCH,
      body: batchBody,
    });
    const every = matchingShare > 0 ? Math.round(1 / matchingShare) : 0;
    const matching = (i: number) => every > 0 && i % every === 0;
    for (const count of COUNTS) {
      if (matchingShare > 0 && count < 10) continue;
      createPerSec = await createSubscriptions(url, created, count, matching);
      created = count;
      await new Promise((resolve) => setTimeout(resolve, 500));
      rss.push({
        subscriptions: count,
        rssMiB: round(rssBytes(child.pid!) / 2 ** 20),
        heapMiB: round((await heapUsedBytes(url)) / 2 ** 20),
      });
      const cpu0 = await serverCpuSeconds(url);
      const load0 = process.cpuUsage();
      const result = await postLoad({
        url,
        path: "/events",
        contentType: "application/cloudevents-batch+json",
        connections: CONNECTIONS,
        seconds: SECONDS,
        eventsPerRequest: BATCH,
        body: batchBody,
      });
      const load = process.cpuUsage(load0);
      const cpu1 = await serverCpuSeconds(url);
      phases.push({
        ...result,
        subscriptions: count,
        matching: Array.from({ length: count }, (_, i) => i).filter(matching).length,
        serverCpuUsPerEvent: round(((cpu1 - cpu0) * 1e6) / result.events),
        loadCpuUsPerEvent: round((load.user + load.system) / result.events),
      });
    }
  } finally {
    await stopHerald(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
  return { phases, rss, createPerSec: Math.round(createPerSec) };
}

// ---- NATS JetStream -------------------------------------------------------------------------------------

async function natsSeries(matchingShare: number): Promise<{ phases: Phase[] } | { skipped: string }> {
  let nc: Awaited<ReturnType<typeof natsConnect>>;
  try {
    nc = await natsConnect({ servers: "127.0.0.1:4222" });
  } catch (error) {
    return { skipped: `NATS not reachable: ${(error as Error).message}` };
  }
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = `HERALD_FANOUT_${process.pid}_${matchingShare > 0 ? "m" : "n"}`;
  const subject = `herald.fanout.${process.pid}.${matchingShare > 0 ? "m" : "n"}`;
  await jsm.streams.add({ name: stream, subjects: [`${subject}.>`], storage: StorageType.File });
  const phases: Phase[] = [];
  const every = matchingShare > 0 ? Math.round(1 / matchingShare) : 0;
  const matching = (i: number) => every > 0 && i % every === 0;
  let created = 0;
  try {
    const payload = () => new TextEncoder().encode(eventJson());
    const publishFor = async (seconds: number): Promise<Figures> => {
      const latencies: number[] = [];
      let events = 0;
      const started = performance.now();
      const deadline = started + seconds * 1000;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < deadline) {
            const t0 = performance.now();
            await Promise.all(
              Array.from({ length: BATCH }, () => js.publish(`${subject}.orders`, payload())),
            );
            latencies.push(performance.now() - t0);
            events += BATCH;
          }
        }),
      );
      return figures(events, (performance.now() - started) / 1000, latencies);
    };
    await publishFor(1);
    for (const count of COUNTS) {
      if (matchingShare > 0 && count < 10) continue;
      let next = created;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < count) {
            const i = next++;
            await jsm.consumers.add(stream, {
              durable_name: `fan-${i}`,
              ack_policy: AckPolicy.Explicit,
              filter_subject: matching(i) ? `${subject}.orders` : `${subject}.none.${i}`,
            });
          }
        }),
      );
      created = count;
      const load0 = process.cpuUsage();
      const result = await publishFor(SECONDS);
      const load = process.cpuUsage(load0);
      phases.push({
        ...result,
        subscriptions: count,
        matching: Array.from({ length: count }, (_, i) => i).filter(matching).length,
        loadCpuUsPerEvent: round((load.user + load.system) / result.events),
      });
    }
    return { phases };
  } catch (error) {
    return phases.length > 0 ? { phases } : { skipped: `JetStream failed: ${(error as Error).message}` };
  } finally {
    await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
  }
}

// ---- main -------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(
    `herald fan-out bench${quick ? " (quick)" : ""}: batches of ${BATCH}, ${CONNECTIONS} connections, ${SECONDS}s per phase`,
  );
  const results: Record<string, unknown> = {
    bench: "fanout",
    seconds: SECONDS,
    batch: BATCH,
    connections: CONNECTIONS,
  };
  for (const [name, share] of [
    ["nonMatching", 0],
    ["matching10pct", 0.1],
  ] as const) {
    const herald = await heraldSeries(share);
    const nats = await natsSeries(share);
    const peer = "phases" in nats ? nats.phases : [];
    console.log(
      `\n${name === "nonMatching" ? "non-matching subscriptions" : "10 % of the subscriptions match every event (no consumer attached)"}`,
    );
    console.log(
      "subscriptions  matching   Herald ev/s  p99/batch  server µs/ev  load µs/ev   JetStream ev/s  p99/batch  load µs/ev   Herald/JS",
    );
    for (const h of herald.phases) {
      const n = peer.find((p) => p.subscriptions === h.subscriptions);
      console.log(
        `${String(h.subscriptions).padStart(13)}  ${String(h.matching).padStart(8)}   ${String(h.eventsPerSec).padStart(11)}  ${h.p99ms.toFixed(1).padStart(7)} ms  ${String(h.serverCpuUsPerEvent).padStart(12)}  ${String(h.loadCpuUsPerEvent).padStart(10)}   ${String(n?.eventsPerSec ?? "—").padStart(14)}  ${(n ? `${n.p99ms.toFixed(1)} ms` : "—").padStart(9)}  ${String(n?.loadCpuUsPerEvent ?? "—").padStart(10)}   ${n ? (h.eventsPerSec / n.eventsPerSec).toFixed(2) : "—"}`,
      );
    }
    const base = herald.phases.find((p) => p.subscriptions === 1) ?? herald.phases[0];
    const at1000 = herald.phases.find((p) => p.subscriptions === 1000);
    if (name === "nonMatching" && base && at1000)
      console.log(
        `1 000 non-matching vs 1: ${(at1000.eventsPerSec / base.eventsPerSec).toFixed(2)}× (aim ≥ 0.8×)`,
      );
    const first = herald.rss[0];
    const last = herald.rss.at(-1);
    if (first && last && last.subscriptions > first.subscriptions) {
      const added = last.subscriptions - first.subscriptions;
      const perSub = ((last.rssMiB - first.rssMiB) * 2 ** 20) / added;
      const heapPerSub = ((last.heapMiB - first.heapMiB) * 2 ** 20) / added;
      const sizes = herald.rss.map((r) => `${r.subscriptions} subs ${r.rssMiB} MiB (heap ${r.heapMiB})`);
      console.log(
        `server RSS: ${sizes.join(", ")}; per added subscription ≈ ${Math.round(perSub)} B RSS, ${Math.round(heapPerSub)} B heap; created ${herald.createPerSec}/s`,
      );
      results[`${name}RssBytesPerSubscription`] = Math.round(perSub);
      results[`${name}HeapBytesPerSubscription`] = Math.round(heapPerSub);
    }
    if (!("phases" in nats)) console.log(`JetStream: ${nats.skipped}`);
    results[name] = { herald: herald.phases, heraldRss: herald.rss, nats };
  }
  console.log(JSON.stringify(results));
}

// ---- entry: child mode (the server under test) or the bench --------------------------------------------------

if (process.argv[2] === "--serve") {
  const server = await startServer({
    port: 0,
    dataDir: process.argv[3]!,
    storage: "sqlite",
    durability: "full",
    logLevel: "silent",
  });
  process.stdout.write(`READY ${server.url}\n`);
  process.on("SIGTERM", () => {
    server.close().then(() => process.exit(0));
  });
} else {
  await main();
}
