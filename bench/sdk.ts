// @herald/sdk benchmark.
//   1. Router overhead: per-event cost of the default middleware stack (recover, tracing, correlation,
//      idempotent inbox, concurrency limit, retry, timeout) vs a bare handler call, in process.
//   2. End to end producer → broker → consumer (broker in a child process, SQLite log):
//      a. throughput: 64 concurrent sends, consumers at concurrency 64; events/s and latency p50/p99
//         (send start → handler), for the SDK (client.send + client.subscribe + Router) and, side by
//         side, a hand-written HTTP client of the same broker (keep-alive POST /events + pull/ack)
//         and NATS JetStream (publish with ack → durable pull consumer).
//      b. latency at a fixed rate: p50/p99 for the same three.
//      The SDK runs twice: "stream" (the defaults for a service: WebSocket publishing, the default
//      streaming consumer with batched acks) and "long-poll" (HTTP sends, transport "poll").
//   3. Publishing alone, 64 sends in flight: SDK over the WebSocket ingest vs NATS JetStream
//      publish-with-ack (64 concurrent awaited js.publish), A/B/A/B in one run; the SDK over HTTP
//      for reference. Each phase reports the load generator's CPU (this process) and Herald's.
// Durability: Herald's SQLite log with durability "full" (fsync at every group commit, before the
// ack); NATS JetStream file storage with the server's default sync (fsync every 2 min in the
// background, not before the ack), as the local nats-server runs it.
// Usage: node bench/dist/sdk.js [--quick]
// Last line of output: one JSON object with every figure.
import { type ChildProcess, spawn } from "node:child_process";
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudEvent } from "@herald/cloudevents";
import { type Handler, HeraldClient, Router, UnitOfWork } from "@herald/sdk";
import { AckPolicy, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import { perSecond, percentiles } from "./lib/log-stats.js";

const quick = process.argv.includes("--quick");
/** `--only publish`: just section 3 (A/B comparisons of the publish path); `--only e2e`: just section 2. */
const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : undefined;
const ROUTER_EVENTS = quick ? 20_000 : 200_000;
const E2E_EVENTS = quick ? 2_000 : 20_000;
const WARMUP_EVENTS = quick ? 500 : 2_000;
const CONCURRENCY = 64;
const RATE = quick ? 500 : 2_000;
const RATE_SECONDS = quick ? 2 : 5;
const PUBLISH_EVENTS = quick ? 5_000 : 30_000;

interface Figures {
  readonly eventsPerSec: number;
  readonly p50ms: number;
  readonly p99ms: number;
}

function figures(count: number, elapsedMs: number, latencies: number[]): Figures {
  const p = percentiles(latencies);
  return { eventsPerSec: perSecond(count, elapsedMs), p50ms: p.p50, p99ms: p.p99 };
}

// ---- 1. router overhead --------------------------------------------------------------------------

async function routerOverhead(): Promise<{
  bareNs: number;
  composedNs: number;
  noInboxNs: number;
  defaultsNs: number;
  overheadNs: number;
}> {
  const events = Array.from(
    { length: ROUTER_EVENTS },
    (_, i) => new CloudEvent({ source: "/bench", type: "bench.event", id: `r-${i}`, data: { i } }),
  );
  let sink = 0;
  const handler: Handler = (e) => {
    sink += (e.data as { i: number }).i;
  };
  const signal = new AbortController().signal;
  const run = async (name: string, call: (e: CloudEvent) => Promise<void>): Promise<number> => {
    for (let i = 0; i < Math.min(2_000, events.length); i++) await call(events[i]!); // warm-up
    const t0 = process.hrtime.bigint();
    for (const e of events) await call(e);
    const ns = Number(process.hrtime.bigint() - t0) / events.length;
    console.log(
      `router  ${name.padEnd(40)} ${ns.toFixed(0).padStart(7)} ns/event  ${Math.round(1e9 / ns).toLocaleString("en")} events/s`,
    );
    return ns;
  };
  const bareNs = await run("bare handler (await fn(event, ctx))", async (e) => {
    const unit = new UnitOfWork(e, { attempt: 1, signal, transport: "direct" });
    await handler(e, unit.context);
    await unit.commit();
  });
  const bare = new Router({ defaults: false }).on("bench.event", handler);
  const composedNs = await run("Router, no middleware", async (e) => {
    const unit = new UnitOfWork(e, { attempt: 1, signal, transport: "direct" });
    await bare.handle(e, unit.context);
    await unit.commit();
  });
  const noInbox = new Router({ idempotency: false }).on("bench.event", handler);
  const noInboxNs = await run("Router, default stack without the inbox", async (e) => {
    const unit = new UnitOfWork(e, { attempt: 1, signal, transport: "direct" });
    await noInbox.handle(e, unit.context);
    await unit.commit();
  });
  // Every event is new to the inbox: it remembers each one (bounded at 100 000, oldest evicted).
  const full = new Router().on("bench.event", handler);
  const defaultsNs = await run("Router, default middleware stack", async (e) => {
    const unit = new UnitOfWork(e, { attempt: 1, signal, transport: "direct" });
    await full.handle(e, unit.context);
    await unit.commit();
  });
  if (sink < 0) console.log(sink);
  return {
    bareNs: Math.round(bareNs),
    composedNs: Math.round(composedNs),
    noInboxNs: Math.round(noInboxNs),
    defaultsNs: Math.round(defaultsNs),
    overheadNs: Math.round(defaultsNs - bareNs),
  };
}

// ---- the broker -------------------------------------------------------------------------------------

async function spawnBroker(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const script = `
    import { startServer } from "@herald/server";
    const server = await startServer({ port: 0, dataDir: ${JSON.stringify(dataDir)}, logLevel: "silent" });
    process.stdout.write(JSON.stringify({ url: server.url }) + "\\n");
    process.on("SIGTERM", () => server.close().then(() => process.exit(0)));`;
  // BENCH_BROKER_NODE_ARGS: extra node flags for the broker (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p").
  const extra = (process.env["BENCH_BROKER_NODE_ARGS"] ?? "").split(" ").filter((a) => a.length > 0);
  const child = spawn(process.execPath, [...extra, "--input-type=module", "-e", script], {
    cwd: new URL("../..", import.meta.url).pathname,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let text = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes("\n")) resolve((JSON.parse(text.split("\n")[0]!) as { url: string }).url);
    });
    child.once("exit", (code) => reject(new Error(`broker exited with ${code}`)));
  });
  return { url, child };
}

// ---- scenarios ---------------------------------------------------------------------------------------

type Send = (id: string) => Promise<void>;
interface Pipeline {
  send: Send;
  /** Starts consuming; calls onHandled(id) per event. */
  consume(onHandled: (id: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Throughput: E2E_EVENTS sent by CONCURRENCY concurrent senders; latency = send start → handled. */
async function saturate(p: Pipeline, prefix: string, events = E2E_EVENTS): Promise<Figures> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => {
    done = r;
  });
  const stop = await p.consume((id) => {
    const t0 = sentAt.get(id);
    if (t0 === undefined) return;
    latencies.push(performance.now() - t0);
    sentAt.delete(id);
    if (latencies.length === events) done();
  });
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < events) {
        const id = `${prefix}-${next++}`;
        sentAt.set(id, performance.now());
        await p.send(id);
      }
    }),
  );
  await Promise.race([all, new Promise((r) => setTimeout(r, 60_000))]);
  const elapsed = performance.now() - started;
  await stop();
  return figures(latencies.length, elapsed, latencies);
}

/** Latency at a fixed RATE for RATE_SECONDS. */
async function paced(p: Pipeline, prefix: string): Promise<Figures> {
  const total = RATE * RATE_SECONDS;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => {
    done = r;
  });
  const stop = await p.consume((id) => {
    const t0 = sentAt.get(id);
    if (t0 === undefined) return;
    latencies.push(performance.now() - t0);
    if (latencies.length === total) done();
  });
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE));
    for (; sent < due; sent++) {
      const id = `${prefix}-${sent}`;
      sentAt.set(id, performance.now());
      inflight.push(p.send(id));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inflight);
  await Promise.race([all, new Promise((r) => setTimeout(r, 30_000))]);
  const elapsed = performance.now() - started;
  await stop();
  return figures(latencies.length, elapsed, latencies);
}

let subscriptionSeq = 0;

// Each consume() phase gets its own type and subscription (start: beginning), so phases do not mix.
// "stream": WebSocket publishing and the default (streaming) consumer; "long-poll": HTTP and poll.
function sdkPipeline(url: string, mode: "stream" | "long-poll"): Pipeline {
  const client = new HeraldClient({ url, ...(mode === "stream" ? { publish: { transport: "ws" } } : {}) });
  let type = "";
  return {
    async send(id) {
      const result = await client.send(new CloudEvent({ source: "/bench/sdk", type, id, data: { id } }));
      if (!result.ok) throw new Error(`send failed: ${result.kind}`);
    },
    async consume(onHandled) {
      const subscription = `sdk-${process.pid}-${++subscriptionSeq}`;
      type = `bench.${subscription}`;
      await client.createSubscription({
        id: subscription,
        types: [type],
        config: { ordering: "none", maxInFlight: 1_000 },
      });
      const router = new Router({ concurrency: 1_000 }).on(type, (e) => onHandled(e.id));
      const consumer =
        mode === "stream"
          ? client.subscribe(subscription, router, { concurrency: CONCURRENCY })
          : client.subscribe(subscription, router, {
              transport: "poll",
              concurrency: CONCURRENCY,
              waitMs: 1_000,
            });
      if (mode === "stream" && client.publishTransport !== "ws") throw new Error("not publishing over ws");
      return () => consumer.stop();
    },
    close: () => client.close(),
  };
}

/** The same broker through a minimal hand-written HTTP client: the floor the SDK is compared to. */
function rawPipeline(url: string): Pipeline {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  const base = new URL(url);
  let type = "";
  const post = (path: string, contentType: string, body: string) =>
    new Promise<string>((resolve, reject) => {
      const req = http.request(
        {
          host: base.hostname,
          port: base.port,
          path,
          method: "POST",
          agent,
          headers: { "content-type": contentType },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            text += c;
          });
          res.on("end", () =>
            (res.statusCode ?? 500) < 300 ? resolve(text) : reject(new Error(`${res.statusCode} ${text}`)),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  return {
    async send(id) {
      await post(
        "/events",
        "application/cloudevents+json",
        JSON.stringify({ specversion: "1.0", id, source: "/bench/raw", type, data: { id } }),
      );
    },
    async consume(onHandled) {
      const subscription = `raw-${process.pid}-${++subscriptionSeq}`;
      type = `bench.${subscription}`;
      await post(
        "/subscriptions",
        "application/json",
        JSON.stringify({ id: subscription, types: [type], config: { ordering: "none", maxInFlight: 1_000 } }),
      );
      let running = true;
      const loop = (async () => {
        while (running) {
          const { messages } = JSON.parse(
            await post(
              `/subscriptions/${subscription}/pull`,
              "application/json",
              JSON.stringify({ max: CONCURRENCY, waitMs: 200 }),
            ),
          ) as { messages: Array<{ ackId: string; event: { id: string } }> };
          for (const m of messages) onHandled(m.event.id);
          if (messages.length > 0) {
            await post(
              `/subscriptions/${subscription}/ack`,
              "application/json",
              JSON.stringify({ ackIds: messages.map((m) => m.ackId) }),
            );
          }
        }
      })();
      return async () => {
        running = false;
        await loop;
      };
    },
    async close() {
      agent.destroy();
    },
  };
}

async function natsPipeline(): Promise<Pipeline | undefined> {
  let nc: Awaited<ReturnType<typeof natsConnect>>;
  try {
    nc = await natsConnect({ servers: process.env["NATS_URL"] ?? "127.0.0.1:4222", timeout: 2_000 });
  } catch {
    return undefined;
  }
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = `HERALD_BENCH_SDK_${process.pid}`;
  const subject = `herald.bench.sdk.${process.pid}`;
  await jsm.streams.add({ name: stream, subjects: [`${subject}.>`], storage: StorageType.File });
  let seq = 0;
  let current = `${subject}.0`;
  return {
    async send(id) {
      await js.publish(
        current,
        JSON.stringify({ specversion: "1.0", id, source: "/bench/nats", type: "bench", data: { id } }),
      );
    },
    async consume(onHandled) {
      current = `${subject}.${++seq}`;
      const durable = `bench-${seq}`;
      await jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        filter_subject: current,
      });
      const consumer = await js.consumers.get(stream, durable);
      const messages = await consumer.consume({ max_messages: 1_000 });
      const loop = (async () => {
        for await (const m of messages) {
          onHandled((JSON.parse(m.string()) as { id: string }).id);
          m.ack();
        }
      })();
      return async () => {
        await messages.close();
        await loop;
      };
    },
    async close() {
      await jsm.streams.delete(stream).catch(() => false);
      await nc.close();
    },
  };
}

// ---- 3. publishing alone -----------------------------------------------------------------------------

interface PublishFigures extends Figures {
  /** CPU of this process (the load generator), ms per 1 000 events and % of one core. */
  readonly loadGenCpuMsPer1k: number;
  readonly loadGenCpuPct: number;
  /** Herald's own CPU (its /metrics), µs per event; absent for the peer. */
  readonly brokerCpuUsPerEvent?: number;
}

async function brokerCpuSeconds(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^herald_process_cpu_seconds_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

/** `count` sends by CONCURRENCY workers, each awaiting its send: events/s, send latency, CPU. */
async function publishPhase(
  send: (i: number) => Promise<void>,
  count: number,
  brokerUrl?: string,
): Promise<PublishFigures> {
  const brokerBefore = brokerUrl ? await brokerCpuSeconds(brokerUrl) : 0;
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await send(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const out: PublishFigures = {
    ...figures(count, elapsed, latencies),
    loadGenCpuMsPer1k: Math.round((cpuMs / count) * 1000 * 10) / 10,
    loadGenCpuPct: Math.round((cpuMs / elapsed) * 100),
  };
  if (!brokerUrl) return out;
  const brokerAfter = await brokerCpuSeconds(brokerUrl);
  return { ...out, brokerCpuUsPerEvent: Math.round(((brokerAfter - brokerBefore) * 1e6) / count) };
}

async function publishBench(url: string): Promise<Record<string, unknown>> {
  const ws = new HeraldClient({ url, publish: { transport: "ws" } });
  const http = new HeraldClient({ url });
  let nc: Awaited<ReturnType<typeof natsConnect>> | undefined;
  try {
    nc = await natsConnect({ servers: process.env["NATS_URL"] ?? "127.0.0.1:4222", timeout: 2_000 });
  } catch {
    nc = undefined;
  }
  const stream = `HERALD_BENCH_PUB_${process.pid}`;
  const subject = `herald.bench.pub.${process.pid}`;
  const js = nc ? jetstream(nc) : undefined;
  if (nc)
    await (await jetstreamManager(nc)).streams.add({
      name: stream,
      subjects: [`${subject}.>`],
      storage: StorageType.File,
    });
  let round = 0;
  const event = (source: string, i: number) =>
    new CloudEvent({ source, type: "bench.publish", id: `p-${round}-${i}`, data: { i } });
  const viaWs = async () => {
    round++;
    return publishPhase(
      async (i) => {
        const r = await ws.send(event("/bench/ws", i));
        if (!r.ok) throw new Error(`ws send failed: ${r.kind}`);
      },
      PUBLISH_EVENTS,
      url,
    );
  };
  const viaHttp = async () => {
    round++;
    return publishPhase(
      async (i) => {
        const r = await http.send(event("/bench/http", i));
        if (!r.ok) throw new Error(`http send failed: ${r.kind}`);
      },
      PUBLISH_EVENTS,
      url,
    );
  };
  const viaNats = async () => {
    round++;
    const r = round;
    return publishPhase(async (i) => {
      await js!.publish(
        `${subject}.x`,
        JSON.stringify({
          specversion: "1.0",
          id: `p-${r}-${i}`,
          source: "/bench/nats",
          type: "bench.publish",
          data: { i },
        }),
      );
    }, PUBLISH_EVENTS);
  };
  const pub = (name: string, f: PublishFigures) =>
    console.log(
      `${name.padEnd(48)} ${String(f.eventsPerSec).padStart(8)} events/s   p50 ${f.p50ms.toFixed(3)} ms   p99 ${f.p99ms.toFixed(3)} ms   load-gen CPU ${f.loadGenCpuMsPer1k} ms/1k (${f.loadGenCpuPct}%)${f.brokerCpuUsPerEvent === undefined ? "" : `   herald CPU ${f.brokerCpuUsPerEvent} µs/event`}`,
    );
  try {
    // Warm-up of both paths (JIT, the connection, the broker's statements), not reported.
    await publishPhase((i) => ws.send(event("/bench/warm", i)).then(() => {}), PUBLISH_EVENTS);
    if (js)
      await publishPhase((i) => js.publish(`${subject}.w`, `{"i":${i}}`).then(() => {}), PUBLISH_EVENTS);
    const runs: Array<{ ws: PublishFigures; nats?: PublishFigures }> = [];
    for (let r = 0; r < 3; r++) {
      const a = await viaWs();
      pub(`herald sdk publish ws, ${CONCURRENCY} in flight (run ${r + 1})`, a);
      const b = js ? await viaNats() : undefined;
      if (b) pub(`nats jetstream publish+ack, ${CONCURRENCY} in flight (run ${r + 1})`, b);
      runs.push({ ws: a, ...(b ? { nats: b } : {}) });
    }
    const httpFigures = await viaHttp();
    pub(`herald sdk publish http, ${CONCURRENCY} in flight`, httpFigures);
    const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
    const wsRate = mean(runs.map((r) => r.ws.eventsPerSec));
    const natsRate = js ? mean(runs.map((r) => r.nats!.eventsPerSec)) : undefined;
    if (natsRate !== undefined)
      console.log(
        `publish: herald ws / nats = ${(wsRate / natsRate).toFixed(2)}× (means of ${runs.length} runs each)`,
      );
    return {
      events: PUBLISH_EVENTS,
      inFlight: CONCURRENCY,
      runs,
      http: httpFigures,
      wsEventsPerSec: wsRate,
      ...(natsRate !== undefined
        ? { natsEventsPerSec: natsRate, wsOverNats: Math.round((wsRate / natsRate) * 100) / 100 }
        : { nats: { skipped: true } }),
    };
  } finally {
    if (nc) {
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => false);
      await nc.close();
    }
    await ws.close();
    await http.close();
  }
}

// ---- main ---------------------------------------------------------------------------------------------

const line = (name: string, f: Figures) =>
  console.log(
    `${name.padEnd(48)} ${String(f.eventsPerSec).padStart(8)} events/s   p50 ${f.p50ms.toFixed(3)} ms   p99 ${f.p99ms.toFixed(3)} ms`,
  );

async function main(): Promise<void> {
  console.log(`@herald/sdk bench${quick ? " (quick)" : ""}, node ${process.version}`);
  const router = only === undefined ? await routerOverhead() : undefined;
  if (router) console.log(`router  default stack overhead: ${router.overheadNs} ns/event`);

  const dataDir = mkdtempSync(join(tmpdir(), "herald-bench-sdk-"));
  const broker = await spawnBroker(dataDir);
  const result: Record<string, unknown> = { bench: "sdk", quick, node: process.version, router };
  try {
    const pipelines: Array<[string, Pipeline | undefined]> = [
      ["herald sdk stream", sdkPipeline(broker.url, "stream")],
      ["herald sdk long-poll", sdkPipeline(broker.url, "long-poll")],
      ["herald raw http", rawPipeline(broker.url)],
      ["nats jetstream", await natsPipeline()],
    ].filter(() => only !== "publish") as Array<[string, Pipeline | undefined]>;
    const e2e: Record<string, unknown> = {};
    for (const [name, p] of pipelines) {
      if (!p) {
        console.log(`${name}: skipped (not reachable)`);
        e2e[name] = { skipped: true };
        continue;
      }
      try {
        await saturate(p, `${name.replace(/\W/g, "")}-warmup`, WARMUP_EVENTS); // JIT and broker warm-up, not reported
        const throughput = await saturate(p, `${name.replace(/\W/g, "")}-t`);
        line(`${name} e2e, ${CONCURRENCY} concurrent sends`, throughput);
        const latency = await paced(p, `${name.replace(/\W/g, "")}-l`);
        line(`${name} e2e @${RATE}/s`, latency);
        e2e[name] = { throughput, latency };
      } finally {
        await p.close();
      }
    }
    result["e2e"] = e2e;
    result["events"] = E2E_EVENTS;
    result["rate"] = RATE;
    if (only !== "e2e") result["publish"] = await publishBench(broker.url);
    result["durability"] = {
      herald: "sqlite, durability full (fsync per group commit)",
      nats: "file storage, default sync_interval (2 min)",
    };
  } finally {
    broker.child.kill("SIGTERM");
    await new Promise((r) => broker.child.once("exit", r));
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(result));
}

await main();
// Idle keep-alive sockets of the clients' agents would keep the process alive for their timeout.
process.exit(0);
