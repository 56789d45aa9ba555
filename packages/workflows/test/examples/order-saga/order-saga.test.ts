// The order example end to end: a real `herald serve`, three services and an orchestrator as spawned
// processes. Orchestrated: completion, payment failure (reservation released), timeout (refund and
// release); the same flow as choreography; and the orchestrator SIGKILLed mid-saga, twice: it
// resumes, and each order completes or compensates exactly once.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { CloudEvent } from "@herald/cloudevents";
import { decodeJsonEventObject } from "@herald/cloudevents";
import { HeraldClient } from "@herald/sdk";
import { type HeraldServer, startServer } from "@herald/server";
import { DISPATCHED_TYPE, SAGA_EVENTS } from "@herald/workflows";
import { SOURCE } from "./saga.js";
import { DECLINE_ABOVE, HANG_AMOUNT, type Mode } from "./services.js";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));
const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill("SIGKILL");
});

interface Child {
  readonly proc: ChildProcess;
  /** Lines printed so far. */
  readonly lines: string[];
  readonly exited: Promise<NodeJS.Signals | number | null>;
}

function start(url: string, role: string, mode: Mode, ...rest: string[]): Promise<Child> {
  const proc = spawn(process.execPath, [MAIN, url, role, mode, ...rest], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.add(proc);
  const lines: string[] = [];
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    proc.once("exit", (code, signal) => {
      children.delete(proc);
      resolve(signal ?? code);
    }),
  );
  return new Promise((resolve, reject) => {
    let buffered = "";
    proc.stdout!.setEncoding("utf8");
    proc.stdout!.on("data", (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        if (line === "READY") resolve({ proc, lines, exited });
      }
    });
    void exited.then((how) => reject(new Error(`${role} exited before READY (${String(how)})`)));
  });
}

async function system(mode: Mode, orchestratorArgs: string[] = []) {
  const server = await startServer({ memory: true, port: 0, logLevel: "silent" });
  const client = new HeraldClient({ url: server.url });
  const services = await Promise.all(
    (["stock", "payment", "shipping"] as const).map((role) => start(server.url, role, mode)),
  );
  const orchestrator =
    mode === "orchestrated" ? await start(server.url, "orchestrator", mode, ...orchestratorArgs) : undefined;
  return { server, client, services, orchestrator };
}

async function stop(s: {
  server: HeraldServer;
  client: HeraldClient;
  services: Child[];
  orchestrator?: Child | undefined;
}) {
  for (const child of [...s.services, ...(s.orchestrator ? [s.orchestrator] : [])]) {
    child.proc.kill("SIGKILL");
    await child.exited;
  }
  await s.client.close();
  await s.server.close();
}

const placed = (orderId: string, amount: number) => ({
  source: "urn:example:shop",
  id: `placed-${orderId}`,
  type: "order.placed",
  subject: `order/${orderId}`,
  datacontenttype: "application/json",
  data: { orderId, sku: "tea", quantity: 1, amount },
});

/** Reads the whole log as it grows until `done(events)` holds. */
async function until(client: HeraldClient, done: (events: CloudEvent[]) => boolean, timeoutMs = 40_000) {
  const events: CloudEvent[] = [];
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    for await (const entry of client.events({ follow: true, pollIntervalMs: 25, signal })) {
      events.push(decodeJsonEventObject(entry.event));
      if (done(events)) return events;
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
  assert.fail(`timed out; the log holds ${events.map((e) => e.type).join(", ")}`);
}

const orderOf = (e: CloudEvent) =>
  (e.data as { orderId?: string; key?: string } | undefined)?.orderId ?? (e.data as { key?: string })?.key;
const outcomes = (events: CloudEvent[]) =>
  events.filter((e) =>
    [SAGA_EVENTS.completed, SAGA_EVENTS.compensated, SAGA_EVENTS.failed].includes(e.type as never),
  );

test("orchestrated: completed, payment declined (reservation released), payment timeout across an orchestrator restart (refund, release)", {
  timeout: 60_000,
}, async () => {
  // The payment timeout: long enough for "ok" to be paid on a loaded machine, short for the test.
  const PAYMENT_TIMEOUT_MS = 4_000;
  const s = await system("orchestrated", [String(PAYMENT_TIMEOUT_MS)]);
  try {
    const began = Date.now();
    for (const [id, amount] of [
      ["ok", 30],
      ["declined", DECLINE_ABOVE + 1],
      ["hangs", HANG_AMOUNT],
    ] as const) {
      const sent = await s.client.send(placed(id, amount));
      assert.equal(sent.kind, "ack");
    }
    // Once "ok" and "declined" are done and the payment step of "hangs" is dispatched (its timer
    // scheduled), the orchestrator is SIGKILLed and started again: the timer is durable (in the
    // broker), the new life handles it. (Killed earlier, "ok"'s own payment timer could come due
    // while nobody consumes, and win against its payment.taken waiting in the broker: a timeout.)
    await until(
      s.client,
      (all) =>
        outcomes(all).length === 2 &&
        all.some(
          (e) =>
            e.type === DISPATCHED_TYPE &&
            e.subject === "hangs" &&
            (e.data as { through: number }).through >= 2,
        ),
    );
    s.orchestrator!.proc.kill("SIGKILL");
    assert.equal(await s.orchestrator!.exited, "SIGKILL");
    s.orchestrator = await start(s.server.url, "orchestrator", "orchestrated", String(PAYMENT_TIMEOUT_MS));
    const events = await until(s.client, (all) => outcomes(all).length === 3);
    // The payment timer is a lower bound: nothing timed out before it was due.
    assert.ok(Date.now() - began >= PAYMENT_TIMEOUT_MS, "the timeout waited for its time");
    const of = (id: string) =>
      events.filter((e) => orderOf(e) === id && e.type !== "herald.workflow.timeout").map((e) => e.type);
    const outcome = (id: string) => outcomes(events).find((e) => orderOf(e) === id);
    assert.equal(outcome("ok")?.type, SAGA_EVENTS.completed);
    assert.deepEqual(of("ok"), [
      "order.placed",
      "stock.reserve",
      "stock.reserved",
      "payment.take",
      "payment.taken",
      "shipping.ship",
      "shipping.shipped",
      SAGA_EVENTS.completed,
    ]);
    assert.equal(outcome("declined")?.type, SAGA_EVENTS.compensated);
    assert.deepEqual((outcome("declined")?.data as { reason?: string } | undefined)?.reason, "pay failed");
    assert.ok(of("declined").includes("stock.released"));
    assert.ok(!of("declined").includes("shipping.ship"));
    assert.equal(outcome("hangs")?.type, SAGA_EVENTS.compensated);
    assert.deepEqual((outcome("hangs")?.data as { reason?: string } | undefined)?.reason, "pay timed out");
    const hangs = of("hangs");
    assert.ok(hangs.indexOf("payment.refunded") < hangs.indexOf("stock.release"), "refund before release");
    // One conversation per order: every event about it carries the starting event's id as correlationid.
    for (const id of ["ok", "declined", "hangs"]) {
      for (const e of events.filter((x) => orderOf(x) === id && x.type !== "order.placed"))
        assert.equal(e["correlationid"], `placed-${id}`, `${e.type} of ${id}`);
    }
    // The timer went through the broker, with the deliverat extension and its due time.
    const timer = events.find(
      (e) => e.type === "herald.workflow.timeout" && e.source === SOURCE && orderOf(e) === "hangs",
    );
    assert.ok(timer, "the payment timer is in the log");
    assert.equal(timer["deliverat"], (timer.data as { at: string }).at);
  } finally {
    await stop(s);
  }
});

test("choreography: the same order flow with no orchestrator, followed by correlationid and causationid", {
  timeout: 60_000,
}, async () => {
  const s = await system("choreography");
  try {
    await s.client.send(placed("ok", 30));
    await s.client.send(placed("declined", DECLINE_ABOVE + 1));
    const events = await until(
      s.client,
      (all) =>
        all.some((e) => e.type === "shipping.shipped" && orderOf(e) === "ok") &&
        all.some((e) => e.type === "stock.released" && orderOf(e) === "declined"),
    );
    const of = (id: string) => events.filter((e) => orderOf(e) === id);
    assert.deepEqual(
      of("ok").map((e) => e.type),
      ["order.placed", "stock.reserved", "payment.taken", "shipping.shipped"],
    );
    assert.deepEqual(
      of("declined").map((e) => e.type),
      ["order.placed", "stock.reserved", "payment.failed", "stock.released"],
    );
    for (const id of ["ok", "declined"]) {
      const chain = of(id);
      for (let i = 1; i < chain.length; i++) {
        assert.equal(
          chain[i]!["causationid"],
          chain[i - 1]!.id,
          `${chain[i]!.type} caused by ${chain[i - 1]!.type}`,
        );
        assert.equal(chain[i]!["correlationid"], `placed-${id}`);
      }
    }
  } finally {
    await stop(s);
  }
});

test("the orchestrator SIGKILLed mid-saga twice: every order completes or compensates exactly once", {
  timeout: 90_000,
}, async (t) => {
  const s = await system("orchestrated");
  const ORDERS = 24;
  const lives: Child[] = [];
  try {
    const expected = new Map<string, string>();
    for (let n = 0; n < ORDERS; n++) {
      const declined = n % 4 === 3;
      expected.set(`o${n}`, declined ? SAGA_EVENTS.compensated : SAGA_EVENTS.completed);
      await s.client.send(placed(`o${n}`, declined ? DECLINE_ABOVE + 1 : 10 + n));
    }
    let orchestrator = s.orchestrator!;
    for (const killAfter of [15, 30]) {
      // Kill once it has taken this many steps (in this life), with sagas in every stage.
      const current = orchestrator;
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (current.lines.filter((l) => l === "H stepped").length >= killAfter) {
            clearInterval(timer);
            resolve();
          }
        }, 5);
        void current.exited.then(() => {
          clearInterval(timer);
          reject(new Error("orchestrator exited by itself"));
        });
      });
      current.proc.kill("SIGKILL");
      lives.push(current);
      assert.equal(await current.exited, "SIGKILL");
      orchestrator = await start(s.server.url, "orchestrator", "orchestrated");
    }
    s.orchestrator = orchestrator;
    // A second orchestrator joins the subscription (the broker hands it what the first has not taken).
    s.services.push(await start(s.server.url, "orchestrator", "orchestrated"));
    await until(s.client, (all) => new Set(outcomes(all).map(orderOf)).size === ORDERS, 60_000);
    // Then the services have nothing left to answer, and the whole log is read once more.
    for (const role of ["stock", "payment", "shipping"]) {
      for (;;) {
        const stats = await s.client.subscriptionStats(`orchestrated-${role}`);
        if (stats.lag === 0 && stats.inFlight === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const events: CloudEvent[] = [];
    for await (const entry of s.client.events()) events.push(decodeJsonEventObject(entry.event));
    const done = outcomes(events);
    // What each life of the orchestrator did (a "duplicate" after a restart is a redelivered event
    // whose step was stored before the kill: the new life only finished its dispatch).
    for (const life of [...lives, orchestrator, s.services.at(-1)!]) {
      const counts: Record<string, number> = {};
      for (const line of life.lines)
        if (line.startsWith("H ")) counts[line.slice(2)] = (counts[line.slice(2)] ?? 0) + 1;
      t.diagnostic(JSON.stringify(counts));
    }
    for (const [id, type] of expected) {
      const mine = done.filter((e) => orderOf(e) === id);
      assert.deepEqual(
        mine.map((e) => e.type),
        [type],
        `order ${id}: exactly one outcome`,
      );
      const count = (t: string) => events.filter((e) => e.type === t && orderOf(e) === id).length;
      assert.equal(count("stock.reserve"), 1, `${id}: one reserve command`);
      assert.equal(count("stock.reserved"), 1, `${id}: reserved once`);
      assert.equal(count("payment.take"), 1, `${id}: charged once`);
      if (type === SAGA_EVENTS.completed) {
        assert.equal(count("shipping.ship"), 1, `${id}: shipped once`);
        assert.equal(count("stock.release"), 0);
      } else {
        assert.equal(count("stock.release"), 1, `${id}: released once`);
        assert.equal(count("shipping.ship"), 0);
      }
    }
  } finally {
    await stop(s);
  }
});
