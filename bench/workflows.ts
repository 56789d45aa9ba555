// @herald/workflows benchmark: sagas driven through ProcessManager.handleEvent on the SQLite log
// (durability "full"), 16 events in flight over many instances, each saga 4 events (placed, reserved,
// taken, shipped: load the instance stream, fold, step, append with the expected version, publish,
// record the dispatch). Peer, same run and log: the event-sourcing CommandHandler on one stream per
// saga, one command per event (load, fold, decide, append), i.e. the same I/O without the outbox.
// Figures: events/s and latency p50/p99 per handled event.
// Usage: node bench/dist/workflows.js [--quick]. Last line of output: one JSON object with every figure.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudEvent } from "@herald/cloudevents";
import { CommandHandler, type Decider, eventLogStore } from "@herald/eventsourcing";
import { type EventLog, openSqliteLog } from "@herald/log";
import { defineEvent } from "@herald/sdk";
import { defineSaga, ProcessManager } from "@herald/workflows";
import { TestClock } from "@herald/workflows/testing";
import { Type } from "@sinclair/typebox";
import { percentiles, perSecond, ratio } from "./lib/log-stats.js";

const quick = process.argv.includes("--quick");
const SAGAS = quick ? 200 : 2_000;
const IN_FLIGHT = 16;
const FLOW = ["order.placed", "stock.reserved", "payment.taken", "shipping.shipped"] as const;

const saga = defineSaga<{ orderId: string }>({
  name: "bench",
  start: "order.placed",
  correlate: (e) => (e.data as { orderId?: string } | undefined)?.orderId,
  init: (e) => e.data as { orderId: string },
  steps: [
    {
      name: "reserve",
      command: (o) => ({ type: "stock.reserve", subject: o.orderId, data: o }),
      succeeded: "stock.reserved",
    },
    {
      name: "pay",
      command: (o) => ({ type: "payment.take", subject: o.orderId, data: o }),
      succeeded: "payment.taken",
      timeoutMs: 30_000,
    },
    {
      name: "ship",
      command: (o) => ({ type: "shipping.ship", subject: o.orderId, data: o }),
      succeeded: "shipping.shipped",
    },
  ],
});

const Added = defineEvent({ type: "bench.counter.added", schema: Type.Object({ by: Type.Integer() }) });
const counter: Decider<{ by: number }, number, { type: "bench.counter.added"; data: { by: number } }> = {
  initialState: () => 0,
  decide: (command) => [{ type: "bench.counter.added", data: { by: command.by } }],
  evolve: (state, event) => state + event.data.by,
};

/** Runs SAGAS flows of 4 events, IN_FLIGHT events at once, each flow's events in order. */
async function timed(run: (saga: number, step: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < SAGAS) {
        const s = next++;
        for (let step = 0; step < FLOW.length; step++) {
          const t = performance.now();
          await run(s, step);
          latencies.push(performance.now() - t);
        }
      }
    }),
  );
  return {
    eventsPerSecond: perSecond(SAGAS * FLOW.length, performance.now() - started),
    ...percentiles(latencies),
  };
}

async function bench(log: EventLog) {
  const clock = new TestClock(Date.now());
  let published = 0;
  const manager = new ProcessManager({
    definition: saga,
    store: eventLogStore(log),
    publish: async (events) => {
      published += events.length; // the broker's side is bench:server's business
    },
    timers: clock,
    clock,
  });
  const workflows = await timed(async (s, step) => {
    const outcome = await manager.handleEvent(
      new CloudEvent({ source: "urn:bench", type: FLOW[step]!, data: { orderId: `o${s}` } }),
    );
    if (outcome !== "stepped") throw new Error(`saga o${s} step ${step}: ${outcome}`);
  });
  const handler = new CommandHandler({
    decider: counter,
    events: { "bench.counter.added": Added },
    store: eventLogStore(log),
    source: "urn:bench",
  });
  const commands = await timed(async (s) => {
    await handler.handle(`counter-${s}`, { by: 1 });
  });
  return {
    workflows,
    commands,
    published,
    ratio: ratio(workflows.eventsPerSecond, commands.eventsPerSecond),
  };
}

const dir = mkdtempSync(join(tmpdir(), "herald-bench-wf-"));
try {
  const log = await openSqliteLog({ path: join(dir, "log.db"), durability: "full" });
  const results = await bench(log);
  await log.close();
  console.log(`saga events (ProcessManager)   ${JSON.stringify(results.workflows)}`);
  console.log(`commands (CommandHandler peer) ${JSON.stringify(results.commands)}`);
  console.log(JSON.stringify({ sagas: SAGAS, inFlight: IN_FLIGHT, ...results }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
