// Benchmark of @herald/log (SQLite backend) side by side with a raw better-sqlite3 insert loop
// (the ceiling) and NATS JetStream file storage (the peer), measured in the same run.
//   node bench/dist/log.js [--quick] [--durability full|normal] [--variants pool,inline,pool]
// --variants: afterwards, an A/B/A of the write paths, each variant in turn (batched 1000, 100 concurrent
// producers, append→subscriber latency): pool = commitSync "thread-pool" (fdatasync off the event loop,
// the default), inline = commitSync "inline" (SQLite's fsync inside COMMIT), pool-bg / inline-bg = the
// same with checkpoint "background".
// The last line of output is one JSON object with every figure.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CloudEvent } from "@herald/cloudevents";
import { type EventLog, openSqliteLog, type SqliteLogOptions } from "@herald/log";
import { type NatsPeer, openNatsPeer } from "./lib/log-nats.js";
import { benchEvents, encode } from "./lib/log-payload.js";
import { openRawSqlite } from "./lib/log-raw.js";
import { type Percentiles, perSecond, percentiles, ratio } from "./lib/log-stats.js";

const quick = process.argv.includes("--quick");
const durabilityArg = process.argv[process.argv.indexOf("--durability") + 1];
const durability: "full" | "normal" = durabilityArg === "normal" ? "normal" : "full";
const sizes = quick
  ? { batched: 20_000, concurrent: 10_000, producers: 100, rawPerEvent: 300, catchUp: 50_000, latency: 300 }
  : {
      batched: 200_000,
      concurrent: 200_000,
      producers: 100,
      rawPerEvent: 2_000,
      catchUp: 1_000_000,
      latency: 3_000,
    };
const VARIANTS: Record<string, Pick<SqliteLogOptions, "commitSync" | "checkpoint">> = {
  pool: { commitSync: "thread-pool", checkpoint: "inline" },
  inline: { commitSync: "inline", checkpoint: "inline" },
  "pool-bg": { commitSync: "thread-pool", checkpoint: "background" },
  "inline-bg": { commitSync: "inline", checkpoint: "background" },
};
const variantsFlag = process.argv.indexOf("--variants");
const RUNS = variantsFlag > 0 ? process.argv[variantsFlag + 1]!.split(",") : [];
for (const run of RUNS) if (!(run in VARIANTS)) throw new Error(`unknown variant ${run}`);
/** The write path of every log the bench opens (the log's defaults until the A/B section). */
let variant: Pick<SqliteLogOptions, "commitSync" | "checkpoint"> = {};

/** Throughput runs are repeated and the best run is reported (the machine is shared; noise only slows). */
const REPEATS = 2;

const dir = mkdtempSync(join(tmpdir(), "herald-bench-log-"));
let dbCount = 0;
const freshPath = (): string => join(dir, `bench-${++dbCount}.db`);

interface Throughput {
  readonly eventsPerSec: number;
  readonly latencyMs: Percentiles;
}

async function best(run: () => Promise<Throughput>): Promise<Throughput> {
  let top: Throughput | undefined;
  for (let i = 0; i < REPEATS; i++) {
    const result = await run();
    if (top === undefined || result.eventsPerSec > top.eventsPerSec) top = result;
  }
  return top!;
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function heraldBatched(events: CloudEvent[], batchSize: number): Promise<Throughput> {
  const log = openSqliteLog({ path: freshPath(), durability, retentionIntervalMs: 0, ...variant });
  const latencies: number[] = [];
  const t0 = performance.now();
  for (let start = 0; start < events.length; start += batchSize) {
    const t = performance.now();
    await log.append(events.slice(start, start + batchSize));
    latencies.push(performance.now() - t);
  }
  const elapsed = performance.now() - t0;
  await log.close();
  return { eventsPerSec: perSecond(events.length, elapsed), latencyMs: percentiles(latencies) };
}

async function rawBatched(events: CloudEvent[], batchSize: number, perEvent = false): Promise<Throughput> {
  const path = freshPath();
  await openSqliteLog({ path, retentionIntervalMs: 0 }).close(); // the log's own schema
  const raw = openRawSqlite(path, durability);
  const jsons = events.map(encode);
  const t0 = performance.now();
  const latencies = raw.insertBatches(events, jsons, perEvent ? 1 : batchSize);
  const elapsed = performance.now() - t0;
  raw.close();
  return { eventsPerSec: perSecond(events.length, elapsed), latencyMs: percentiles(latencies) };
}

async function natsBatched(nats: NatsPeer, events: CloudEvent[], batchSize: number): Promise<Throughput> {
  const payloads = events.map((event) => Buffer.from(encode(event)));
  const latencies: number[] = [];
  const t0 = performance.now();
  for (let start = 0; start < events.length; start += batchSize) {
    const t = performance.now();
    const acks: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(events.length, start + batchSize); i++)
      acks.push(nats.js.publish(nats.subject, payloads[i], { msgID: events[i]!.id }));
    await Promise.all(acks);
    latencies.push(performance.now() - t);
  }
  const elapsed = performance.now() - t0;
  return { eventsPerSec: perSecond(events.length, elapsed), latencyMs: percentiles(latencies) };
}

/** `producers` concurrent loops, each appending one event at a time. */
async function concurrentSingles(
  events: CloudEvent[],
  producers: number,
  appendOne: (event: CloudEvent, index: number) => Promise<unknown>,
): Promise<Throughput> {
  const latencies: number[] = new Array(events.length);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: producers }, async () => {
      while (next < events.length) {
        const index = next++;
        const t = performance.now();
        await appendOne(events[index]!, index);
        latencies[index] = performance.now() - t;
      }
    }),
  );
  const elapsed = performance.now() - t0;
  return { eventsPerSec: perSecond(events.length, elapsed), latencyMs: percentiles(latencies) };
}

async function fill(log: EventLog, count: number): Promise<void> {
  const chunk = 1000;
  for (let start = 0; start < count; start += chunk)
    await log.append(benchEvents(Math.min(chunk, count - start), `fill-${start}`));
}

async function catchUp(count: number, nats: NatsPeer | undefined) {
  const path = freshPath();
  const log = openSqliteLog({ path, durability, retentionIntervalMs: 0 });
  await fill(log, count);
  let t0 = performance.now();
  let seen = 0;
  const subscription = log.subscribe({ after: 0, batchSize: 1000 });
  for await (const stored of subscription) {
    seen += stored.json.length > 0 ? 1 : 0;
    if (seen === count) break;
  }
  const subscribeRate = perSecond(seen, performance.now() - t0);
  t0 = performance.now();
  let after = 0;
  let pages = 0;
  for (;;) {
    const page = await log.read({ after, limit: 1000 });
    if (page.events.length === 0) break;
    after = page.next;
    pages += page.events.length;
  }
  const readRate = perSecond(pages, performance.now() - t0);
  await log.close();
  const raw = openRawSqlite(path, durability);
  t0 = performance.now();
  const rawCount = raw.readAll();
  const rawRate = perSecond(rawCount, performance.now() - t0);
  raw.close();
  let natsRate: number | null = null;
  if (nats !== undefined) {
    await nats.jsm.streams.purge(nats.stream);
    const payload = Buffer.from(encode(benchEvents(1, "nats-fill")[0]!));
    for (let start = 0; start < count; start += 1000) {
      const acks: Promise<unknown>[] = [];
      for (let i = start; i < Math.min(count, start + 1000); i++)
        acks.push(nats.js.publish(nats.subject, payload));
      await Promise.all(acks);
    }
    const consumer = await nats.js.consumers.get(nats.stream);
    t0 = performance.now();
    const messages = await consumer.consume({ max_messages: 1000 });
    let received = 0;
    for await (const message of messages) {
      received += message.data.length > 0 ? 1 : 0;
      if (received === count) break;
    }
    natsRate = perSecond(received, performance.now() - t0);
  }
  return { heraldSubscribe: subscribeRate, heraldRead: readRate, rawSqlite: rawRate, nats: natsRate };
}

async function heraldLatency(count: number, mode: "full" | "normal"): Promise<Percentiles> {
  const log = openSqliteLog({ path: freshPath(), durability: mode, retentionIntervalMs: 0, ...variant });
  const events = benchEvents(count, "latency");
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const subscription = log.subscribe({ after: 0 });
  const receiving = (async () => {
    for await (const stored of subscription) {
      latencies.push(performance.now() - sentAt.get(stored.position - 1)!);
      if (latencies.length === count) break;
    }
  })();
  for (let i = 0; i < count; i++) {
    sentAt.set(i, performance.now());
    await log.append([events[i]!]);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await receiving;
  await log.close();
  return percentiles(latencies);
}

async function natsLatency(nats: NatsPeer, count: number): Promise<Percentiles> {
  const events = benchEvents(count, "nats-latency");
  const payloads = events.map((event) => Buffer.from(encode(event)));
  const info = await nats.jsm.streams.info(nats.stream);
  const startSeq = info.state.last_seq;
  const consumer = await nats.js.consumers.get(nats.stream, { opt_start_seq: startSeq + 1 });
  const messages = await consumer.consume({ max_messages: 100 });
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const receiving = (async () => {
    for await (const message of messages) {
      latencies.push(performance.now() - sentAt.get(message.seq - startSeq - 1)!);
      if (latencies.length === count) break;
    }
  })();
  for (let i = 0; i < count; i++) {
    sentAt.set(i, performance.now());
    await nats.js.publish(nats.subject, payloads[i]);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await receiving;
  return percentiles(latencies);
}

function row(label: string, herald: Throughput, peers: Record<string, Throughput | null>): void {
  const cells = [
    `herald ${herald.eventsPerSec.toLocaleString("en")} ev/s (p50 ${herald.latencyMs.p50} ms, p99 ${herald.latencyMs.p99} ms)`,
  ];
  for (const [name, peer] of Object.entries(peers)) {
    if (peer === null) cells.push(`${name} n/a`);
    else
      cells.push(
        `${name} ${peer.eventsPerSec.toLocaleString("en")} ev/s (p50 ${peer.latencyMs.p50} ms, p99 ${peer.latencyMs.p99} ms)`,
      );
  }
  print(`${label.padEnd(28)} ${cells.join(" | ")}`);
}

async function main(): Promise<void> {
  print(`@herald/log bench — durability ${durability}${quick ? " (quick)" : ""}, node ${process.version}`);
  const sample = encode(benchEvents(1, "size")[0]!);
  print(`event size: ${sample.length} bytes of JSON`);
  const nats = await openNatsPeer("log");
  if (nats === undefined) print("NATS not reachable on 127.0.0.1:4222: NATS figures are skipped");

  // Warm-up (JIT, file system) so the first measured side is not penalised.
  const warmUp = benchEvents(5_000, "warm-up");
  await heraldBatched(warmUp, 100);
  await rawBatched(warmUp, 100);

  const batched: Record<string, unknown> = {};
  for (const batchSize of [100, 1000]) {
    const events = benchEvents(sizes.batched, `batched-${batchSize}`);
    const herald = await best(() => heraldBatched(events, batchSize));
    const raw = await best(() => rawBatched(events, batchSize));
    let natsRun = 0;
    const natsResult =
      nats === undefined
        ? null
        : await best(() =>
            natsBatched(nats, benchEvents(sizes.batched, `nats-${batchSize}-${natsRun++}`), batchSize),
          );
    row(`batched appends of ${batchSize}`, herald, { "raw sqlite": raw, "nats js": natsResult });
    batched[String(batchSize)] = {
      herald,
      rawSqlite: raw,
      nats: natsResult,
      ratioToRaw: ratio(herald.eventsPerSec, raw.eventsPerSec),
      ratioToNats: natsResult === null ? null : ratio(herald.eventsPerSec, natsResult.eventsPerSec),
    };
  }

  const singles = benchEvents(sizes.concurrent, "single");
  const heraldSingles = await best(async () => {
    const log = openSqliteLog({ path: freshPath(), durability, retentionIntervalMs: 0, ...variant });
    const result = await concurrentSingles(singles, sizes.producers, (event) => log.append([event]));
    await log.close();
    return result;
  });
  const rawPerEvent = await rawBatched(benchEvents(sizes.rawPerEvent, "raw-single"), 1, true);
  let natsSingles: Throughput | null = null;
  if (nats !== undefined) {
    const payloads = singles.map((event) => Buffer.from(encode(event)));
    let natsRun = 0;
    natsSingles = await best(() => {
      const run = natsRun++;
      return concurrentSingles(singles, sizes.producers, (event, index) =>
        nats.js.publish(nats.subject, payloads[index], { msgID: `single-${run}-${event.id}` }),
      );
    });
  }
  row(`${sizes.producers} concurrent producers`, heraldSingles, {
    "raw sqlite, commit per event": rawPerEvent,
    "nats js": natsSingles,
  });

  const read = await catchUp(sizes.catchUp, nats);
  print(
    `catch-up read of ${sizes.catchUp.toLocaleString("en")}`.padEnd(29) +
      `herald subscribe ${read.heraldSubscribe.toLocaleString("en")} ev/s | herald read() ${read.heraldRead.toLocaleString("en")} ev/s | raw sqlite ${read.rawSqlite.toLocaleString("en")} ev/s | nats js ${read.nats?.toLocaleString("en") ?? "n/a"} ev/s`,
  );

  const heraldLat = await heraldLatency(sizes.latency, durability);
  // NATS acknowledges before fsync by default, so also show the log without an fsync per commit.
  const heraldLatNormal = await heraldLatency(sizes.latency, "normal");
  const natsLat = nats === undefined ? null : await natsLatency(nats, sizes.latency);
  print(
    `append→subscriber latency`.padEnd(29) +
      `herald p50 ${heraldLat.p50} ms, p99 ${heraldLat.p99} ms | herald (normal) p50 ${heraldLatNormal.p50} ms, p99 ${heraldLatNormal.p99} ms | nats js ${natsLat === null ? "n/a" : `p50 ${natsLat.p50} ms, p99 ${natsLat.p99} ms`}`,
  );
  const variants: unknown[] = [];
  for (const name of RUNS) {
    variant = VARIANTS[name]!;
    const events = benchEvents(sizes.batched, `variant-${variants.length}`);
    const batched1000 = await best(() => heraldBatched(events, 1000));
    const producers = await best(async () => {
      const log = openSqliteLog({ path: freshPath(), durability, retentionIntervalMs: 0, ...variant });
      const result = await concurrentSingles(singles, sizes.producers, (event) => log.append([event]));
      await log.close();
      return result;
    });
    const latency = await heraldLatency(sizes.latency, durability);
    print(
      `[${name}]`.padEnd(12) +
        `batched 1000 ${batched1000.eventsPerSec.toLocaleString("en")} ev/s (p99 ${batched1000.latencyMs.p99} ms) | ` +
        `${sizes.producers} producers ${producers.eventsPerSec.toLocaleString("en")} ev/s (p50 ${producers.latencyMs.p50} ms, p99 ${producers.latencyMs.p99} ms) | ` +
        `append→subscriber p50 ${latency.p50} ms, p99 ${latency.p99} ms`,
    );
    variants.push({ variant: name, ...VARIANTS[name], batched1000, producers, latency });
  }
  variant = {};
  await nats?.close();
  rmSync(dir, { recursive: true, force: true });

  print(
    JSON.stringify({
      bench: "log",
      quick,
      durability,
      repeats: REPEATS,
      eventBytes: sample.length,
      batched,
      concurrent: {
        producers: sizes.producers,
        herald: heraldSingles,
        rawSqliteCommitPerEvent: rawPerEvent,
        nats: natsSingles,
        ratioToNats:
          natsSingles === null ? null : ratio(heraldSingles.eventsPerSec, natsSingles.eventsPerSec),
      },
      catchUp: { events: sizes.catchUp, ...read },
      latency: { herald: heraldLat, heraldNormalDurability: heraldLatNormal, nats: natsLat },
      variants,
    }),
  );
}

await main();
