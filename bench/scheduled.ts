// Scheduled delivery: how late an event with `deliverat` reaches a push subscriber after its time,
// beside the peer measured in the same run: the same events published without `deliverat`, from the
// publish to the push. Also the rate at which due events are released (a burst all due at once).
// herald serve in this process on a temp SQLite data dir; the sink is a local HTTP server.
// Usage: node bench/dist/scheduled.js [--quick]
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "@herald/server";
import { percentiles, perSecond } from "./lib/log-stats.js";

const quick = process.argv.includes("--quick");
const SINGLES = quick ? 50 : 300;
const BURST = quick ? 2000 : 20_000;

const dir = mkdtempSync(join(tmpdir(), "herald-bench-scheduled-"));
const server = await startServer({ port: 0, dataDir: join(dir, "data"), logLevel: "silent" });
const arrived = new Map<string, number>();
let waiter: { count: number; resolve: () => void } | undefined;
const sink = createServer((req, res) => {
  const id = String(req.headers["ce-id"]);
  req.resume();
  req.on("end", () => {
    arrived.set(id, Date.now());
    res.writeHead(204).end();
    if (waiter !== undefined && arrived.size >= waiter.count) waiter.resolve();
  });
});
await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;
await post("/subscriptions", "application/json", {
  id: "bench-scheduled",
  sink: sinkUrl,
  config: { ordering: "none", maxInFlight: 256 },
});

async function post(path: string, type: string, body: unknown): Promise<void> {
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": type },
    body: JSON.stringify(body),
  });
  if (response.status >= 300) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

function arrivals(count: number): Promise<void> {
  return new Promise((resolve) => {
    waiter = { count, resolve };
    if (arrived.size >= count) resolve();
  });
}

const event = (id: string, extra: Record<string, unknown> = {}) => ({
  specversion: "1.0",
  id,
  source: "/bench",
  type: "bench.scheduled",
  subject: `k-${id.length % 8}`,
  ...extra,
});

// Peer: publish now, latency = push arrival − publish.
const sent = new Map<string, number>();
for (let n = 0; n < SINGLES; n++) {
  const id = `now-${n}`;
  sent.set(id, Date.now());
  await post("/events", "application/cloudevents+json", event(id));
  await new Promise((resolve) => setTimeout(resolve, 5));
}
await arrivals(SINGLES);
const nowLatency = [...sent].map(([id, at]) => arrived.get(id)! - at);

// Scheduled: each due 300 ms after it is published, one every 5 ms; latency = arrival − deliverat.
const due = new Map<string, number>();
for (let n = 0; n < SINGLES; n++) {
  const id = `later-${n}`;
  const at = Date.now() + 300;
  due.set(id, at);
  await post("/events", "application/cloudevents+json", event(id, { deliverat: new Date(at).toISOString() }));
  await new Promise((resolve) => setTimeout(resolve, 5));
}
await arrivals(SINGLES * 2);
const lateness = [...due].map(([id, at]) => arrived.get(id)! - at);
const early = lateness.filter((ms) => ms < 0).length;

// Peer of the burst: the same number published now in batches of 500, from the first publish to the
// last push. It runs before the burst: whichever of the two ran first measured slower (warm-up).
const peerStart = Date.now();
for (let offset = 0; offset < BURST; offset += 500) {
  const batch = Array.from({ length: 500 }, (_, k) => event(`peer-${offset + k}`));
  await post("/events", "application/cloudevents-batch+json", batch);
}
await arrivals(SINGLES * 2 + BURST);
let peerLast = 0;
for (let n = 0; n < BURST; n++) peerLast = Math.max(peerLast, arrived.get(`peer-${n}`)!);
console.log(
  `peer: ${BURST} published now in batches of 500: pushed at ${perSecond(BURST, peerLast - peerStart)} events/s`,
);
// Burst: BURST events all due at the same instant; release rate = events / (last arrival − due time).
const burstAt = Date.now() + 2000 + BURST / 10;
for (let offset = 0; offset < BURST; offset += 500) {
  const batch = Array.from({ length: 500 }, (_, k) =>
    event(`burst-${offset + k}`, { deliverat: new Date(burstAt).toISOString() }),
  );
  await post("/events", "application/cloudevents-batch+json", batch);
}
const headBefore = await server.log.headPosition();
let inLogAt = 0;
for (;;) {
  if ((await server.log.headPosition()) >= headBefore + BURST) {
    inLogAt = Date.now();
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 2));
}
await arrivals(SINGLES * 2 + BURST * 2);
let last = 0;
for (let n = 0; n < BURST; n++) last = Math.max(last, arrived.get(`burst-${n}`)!);

const rows = [
  { what: "publish → push (no deliverat), peer", ...percentiles(nowLatency) },
  { what: "deliverat → push (scheduled)", ...percentiles(lateness) },
];
console.log(`scheduled delivery, ${SINGLES} single events each, SQLite, push sink (ms)`);
console.table(rows);
console.log(`delivered before deliverat: ${early}`);
console.log(
  `burst of ${BURST} due at once: in the log ${inLogAt - burstAt} ms after the time (${perSecond(BURST, inLogAt - burstAt)} events/s released)`,
);
console.log(
  `burst of ${BURST} due at once: released and pushed at ${perSecond(BURST, last - burstAt)} events/s (last push ${last - burstAt} ms after the time)`,
);
await server.close();
sink.close();
rmSync(dir, { recursive: true, force: true });
