// The console on a big log: a SQLite log of --events (default 1 000 000) events over 10 000 streams
// (built with the log API directly), `herald serve` on it (in this process), and Debian's Chromium
// (playwright-core) loading each console view until its first rows are drawn. Beside each view, in
// the same run, the API call the view makes, timed with fetch: the page's own cost is the difference.
//   npm run bench:console-page -- [--events N] [--runs N]
// Needs /usr/bin/chromium (HERALD_CHROMIUM elsewhere) and the built console (`npm run build`).
// The last line of output is one JSON object with every figure.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CloudEvent } from "@herald/cloudevents";
import { openSqliteLog } from "@herald/log";
import { startServer } from "@herald/server";
import { chromium } from "playwright-core";
import { percentiles } from "./lib/log-stats.js";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} takes a positive integer`);
  return value;
}

const total = flag("--events", 1_000_000);
const runs = flag("--runs", 5);
const STREAMS = 10_000;
const CHROMIUM = process.env.HERALD_CHROMIUM ?? "/usr/bin/chromium";
const print = (line: string) => process.stdout.write(`${line}\n`);

const dir = mkdtempSync(join(tmpdir(), "herald-bench-console-"));
const pad = "x".repeat(120);
let chainPosition = 0;
{
  const log = await openSqliteLog({ path: join(dir, "herald.db") });
  const began = performance.now();
  for (let base = 0; base < total; base += 1000) {
    const batch: CloudEvent[] = [];
    for (let i = base; i < Math.min(total, base + 1000); i++) {
      const n = i % STREAMS;
      batch.push(
        new CloudEvent({
          id: `order-${i}`,
          source: "/bench/shop",
          type: i % 2 === 0 ? "com.example.order.created" : "com.example.order.paid",
          subject: `order/${n}`,
          datacontenttype: "application/json",
          data: { order: n, total: i % 997, pad },
        }),
      );
    }
    await log.append(batch);
  }
  // A causation chain in the middle of the log's end.
  const chain = await log.append([
    new CloudEvent({
      id: "chain-a",
      source: "/bench/saga",
      type: "com.example.saga.started",
      correlationid: "c1",
    }),
  ]);
  await log.append([
    new CloudEvent({
      id: "chain-b",
      source: "/bench/saga",
      type: "com.example.saga.charged",
      correlationid: "c1",
      causationid: "chain-a",
    }),
  ]);
  await log.append([
    new CloudEvent({
      id: "chain-c",
      source: "/bench/saga",
      type: "com.example.saga.shipped",
      correlationid: "c1",
      causationid: "chain-b",
    }),
  ]);
  chainPosition = chain[0]!.position + 1;
  await log.close();
  print(`log: ${total} events in ${((performance.now() - began) / 1000).toFixed(1)} s under ${dir}`);
}

const server = await startServer({ dataDir: dir, port: 0, logLevel: "silent", lifecycleLogs: false });
const base = server.url;
for (const id of ["billing", "audit", "shipping"]) {
  await fetch(`${base}/subscriptions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      id,
      filters: [{ prefix: { type: "com.example.order." } }],
      config: { start: "now" },
    }),
  });
}
const hasLineage = (await fetch(`${base}/events/lineage?position=${chainPosition}`)).status === 200;

interface View {
  readonly name: string;
  readonly hash: string;
  /** The API call the view makes first. */
  readonly api: string;
  /** What is on the page once the view has drawn its data. */
  readonly ready: string;
}
const filter = "type = 'com.example.order.paid' AND subject = 'order/4241'";
const views: View[] = [
  { name: "events, first page", hash: "#/events", api: "/events?after=0&limit=50", ready: "button.row-open" },
  {
    name: "events, last page",
    hash: `#/events?after=${total - 50}`,
    api: `/events?after=${total - 50}&limit=50`,
    ready: "button.row-open",
  },
  {
    name: "events, CESQL filter",
    hash: `#/events?filter=${encodeURIComponent(filter)}`,
    api: `/events?limit=50&filter=${encodeURIComponent(filter)}`,
    ready: "table.grid tbody tr, p.muted",
  },
  {
    name: "one stream",
    hash: `#/events?stream=${encodeURIComponent("order/4241")}`,
    api: `/streams/${encodeURIComponent("order/4241")}?from=0&limit=50&direction=forwards`,
    ready: "button.row-open",
  },
  { name: "streams list", hash: "#/streams", api: "/streams?limit=50", ready: "button.row-open" },
  { name: "subscriptions", hash: "#/subscriptions", api: "/subscriptions", ready: "button.row-open" },
  {
    name: "dead letters",
    hash: "#/dead-letters?subscription=billing",
    api: "/subscriptions/billing/dead-letters?limit=50",
    ready: "table.grid",
  },
  ...(hasLineage
    ? [
        {
          name: "lineage",
          hash: `#/lineage?position=${chainPosition}`,
          api: `/events/lineage?position=${chainPosition}`,
          ready: "ul.tree li",
        },
      ]
    : []),
];

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
const results: Array<Record<string, number | string>> = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // Warm the page's assets once: the figures are the views, not the first download.
  await page.goto(`${base}/console#/health`);
  await page.getByRole("heading", { level: 1 }).waitFor();
  print(
    `${"view".padEnd(22)} ${"API p50".padStart(9)} ${"API p99".padStart(9)} ${"page p50".padStart(9)} ${"page p99".padStart(9)}  (ms, ${runs} runs, ${total} events)`,
  );
  for (const view of views) {
    const apiTimes: number[] = [];
    const pageTimes: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const res = await fetch(`${base}${view.api}`);
      await res.arrayBuffer();
      apiTimes.push(performance.now() - t0);
      await page.goto("about:blank");
      const t1 = performance.now();
      await page.goto(`${base}/console${view.hash}`);
      await page.locator(view.ready).first().waitFor({ timeout: 30_000 });
      pageTimes.push(performance.now() - t1);
    }
    const api = percentiles(apiTimes);
    const shown = percentiles(pageTimes);
    results.push({
      view: view.name,
      apiP50: api.p50,
      apiP99: api.p99,
      pageP50: shown.p50,
      pageP99: shown.p99,
    });
    print(
      `${view.name.padEnd(22)} ${api.p50.toFixed(1).padStart(9)} ${api.p99.toFixed(1).padStart(9)} ${shown.p50.toFixed(1).padStart(9)} ${shown.p99.toFixed(1).padStart(9)}`,
    );
  }
  if (!hasLineage) print("lineage: this server has no GET /events/lineage (console-server branch)");
} finally {
  await browser.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
print(JSON.stringify({ events: total, runs, views: results }));
