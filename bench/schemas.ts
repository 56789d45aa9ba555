// What `--enforce-schemas` costs on ingest: the same server (SQLite, defaults, in a child process) with
// enforcement off and on, one registered schema for the events' type, measured in the same run. Single
// events over 32 connections and batches of 100 over 8; events/s, p50/p99 per request, server CPU/event.
//   npm run bench:schemas [-- --seconds N]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "@herald/server";
import { spawnHerald, stopHerald } from "./lib/herald-child.js";
import { type Figures, postLoad, round, serverCpuSeconds } from "./lib/http-load.js";

const secondsFlag = process.argv.indexOf("--seconds");
const SECONDS = secondsFlag > 0 ? Number(process.argv[secondsFlag + 1]) : 5;
const TYPE = "bench.order.placed";
const SCHEMA = {
  type: "object",
  properties: {
    order: { type: "string", pattern: "^o-\\d+$" },
    customer: { type: "string", minLength: 1 },
    items: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        properties: { sku: { type: "string" }, qty: { type: "integer", minimum: 1 } },
        required: ["sku", "qty"],
      },
    },
    note: { type: "string", maxLength: 500 },
  },
  required: ["order", "customer", "items"],
};

if (process.argv[2] === "--serve") {
  const server = await startServer({
    port: 0,
    logLevel: "silent",
    dataDir: process.argv[3]!,
    schemas: { enforce: process.env.BENCH_ENFORCE === "true" },
  });
  process.stdout.write(`READY ${server.url}\n`);
  process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
} else {
  await main();
}

async function main(): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  let n = 0;
  const event = () => ({
    specversion: "1.0",
    id: `e-${n++}`,
    source: "/bench",
    type: TYPE,
    data: { order: `o-${n}`, customer: "c-42", items: [{ sku: "sku-1", qty: 2 }], note: "x".repeat(120) },
  });
  const rows: Array<{ variant: string; phase: string } & Figures & { serverCpuUsPerEvent: number }> = [];
  for (const enforce of [false, true]) {
    const dir = mkdtempSync(join(tmpdir(), "herald-bench-schemas-"));
    const { child, url } = await spawnHerald(script, dir, { env: { BENCH_ENFORCE: String(enforce) } });
    try {
      const put = await fetch(new URL(`/schemas/${TYPE}`, url), {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(SCHEMA),
      });
      if (put.status !== 201) throw new Error(`register answered ${put.status}`);
      const phases = [
        {
          phase: "single × 32 conns",
          connections: 32,
          eventsPerRequest: 1,
          contentType: "application/cloudevents+json",
          body: () => JSON.stringify(event()),
        },
        {
          phase: "batch 100 × 8 conns",
          connections: 8,
          eventsPerRequest: 100,
          contentType: "application/cloudevents-batch+json",
          body: () => JSON.stringify(Array.from({ length: 100 }, event)),
        },
      ];
      for (const p of phases) {
        const before = await serverCpuSeconds(url);
        const figures = await postLoad({ url, path: "/events", seconds: SECONDS, ...p });
        const after = await serverCpuSeconds(url);
        rows.push({
          variant: enforce ? "enforce on" : "enforce off",
          phase: p.phase,
          ...figures,
          serverCpuUsPerEvent: round(((after - before) * 1e6) / Math.max(1, figures.events)),
        });
      }
    } finally {
      await stopHerald(child);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.table(rows);
  for (const phase of new Set(rows.map((r) => r.phase))) {
    const [off, on] = [
      rows.find((r) => r.phase === phase && r.variant === "enforce off")!,
      rows.find((r) => r.phase === phase && r.variant === "enforce on")!,
    ];
    console.log(
      `${phase}: enforcement costs ${round((1 - on.eventsPerSec / off.eventsPerSec) * 100)} % of events/s, ${round(on.serverCpuUsPerEvent - off.serverCpuUsPerEvent)} µs server CPU per event`,
    );
  }
}
