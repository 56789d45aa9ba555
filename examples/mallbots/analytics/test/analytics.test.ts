// Analytics joins late: a history of orders is in herald serve before it starts, and its figures are
// exactly what that history says — overall and per day; after a SIGKILL and a restart of the process
// (more history meanwhile) nothing is counted twice; a rebuild arrives at the same figures.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { CloudEvent } from "@herald/cloudevents";
import { HeraldClient } from "@herald/sdk";
import { type HeraldServer, startServer } from "@herald/server";
import {
  DEMO_KEYS,
  type OrderItem,
  OrderCancelled,
  OrderPaid,
  OrderPickedUp,
  OrderPlaced,
  OrderReady,
  PaymentCaptured,
  readConfig,
} from "@mallbots/contracts";
import { type Figures, startAnalytics } from "../src/index.js";

const MAIN = fileURLToPath(new URL("../src/main.js", import.meta.url));

let server: HeraldServer;
let client: HeraldClient;
let dataDir: string;
const children = new Set<ChildProcess>();

before(async () => {
  server = await startServer({ memory: true, port: 0, logLevel: "silent" });
  client = new HeraldClient({ url: server.url });
  dataDir = mkdtempSync(join(tmpdir(), "mallbots-analytics-"));
});
after(async () => {
  for (const child of children) child.kill("SIGKILL");
  await client?.close();
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const item = (productId: string, name: string, price: number, quantity: number): OrderItem => ({
  productId,
  storeId: "store-x",
  name,
  price,
  quantity,
});
const TEA = item("prod-tea", "Green tea", 575, 2);
const APPLES = item("prod-apples", "Apples (1 kg)", 349, 1);

/** One order's history: each step at its minute of 2026-11-30 (minutes past 1440 fall on 12-01). */
function order(
  orderId: string,
  items: OrderItem[],
  steps: Partial<Record<"paid" | "ready" | "pickedUp" | "captured" | "cancelled", number>> & {
    placed: number;
    reason?: string;
  },
): CloudEvent[] {
  const total = items.reduce((sum, i) => sum + i.price * i.quantity, 0);
  const at = (minute: number) => new Date(Date.UTC(2026, 10, 30, 0, minute)).toISOString();
  const base = (step: string, minute: number) => ({
    id: `${orderId}:${step}`,
    subject: orderId,
    correlationid: orderId,
    time: at(minute),
  });
  const events: CloudEvent[] = [
    OrderPlaced.create({ ...base("placed", steps.placed), data: { orderId, customerId: "c", items, total } }),
  ];
  if (steps.paid !== undefined)
    events.push(
      OrderPaid.create({ ...base("paid", steps.paid), data: { orderId, paymentId: `p-${orderId}` } }),
    );
  if (steps.ready !== undefined)
    events.push(OrderReady.create({ ...base("ready", steps.ready), data: { orderId } }));
  if (steps.pickedUp !== undefined)
    events.push(OrderPickedUp.create({ ...base("picked-up", steps.pickedUp), data: { orderId } }));
  if (steps.captured !== undefined)
    events.push(
      PaymentCaptured.create({
        ...base("captured", steps.captured),
        data: { orderId, paymentId: `p-${orderId}`, amount: total },
      }),
    );
  if (steps.cancelled !== undefined)
    events.push(
      OrderCancelled.create({
        ...base("cancelled", steps.cancelled),
        data: { orderId, reason: steps.reason ?? "?" },
      }),
    );
  return events;
}

const H = 60; // minutes
// Day one (11-30): o1 and o2 picked up (20 and 40 min), o3 refused, o4 placed at 23:50 and picked up
// next day after 60 min. Day two (12-01): o5 timed out, o6 refused, o7 paid and still shopping.
const HISTORY = [
  order("o1", [TEA, APPLES], {
    placed: 10 * H,
    paid: 10 * H + 1,
    ready: 10 * H + 5,
    pickedUp: 10 * H + 20,
    captured: 10 * H + 20,
  }),
  order("o2", [item("prod-novel", "A long novel", 1299, 1)], {
    placed: 11 * H,
    paid: 11 * H + 1,
    ready: 11 * H + 30,
    pickedUp: 11 * H + 40,
    captured: 11 * H + 40,
  }),
  order("o3", [item("prod-drill", "Cordless drill", 64900, 1)], {
    placed: 12 * H,
    cancelled: 12 * H,
    reason: "payment refused",
  }),
  order("o4", [item("prod-tea", "Green tea", 575, 1)], {
    placed: 23 * H + 50,
    paid: 23 * H + 51,
    ready: 24 * H + 10,
    pickedUp: 24 * H + 50,
    captured: 24 * H + 50,
  }),
  order("o5", [item("prod-apples", "Apples (1 kg)", 349, 3)], {
    placed: 33 * H,
    paid: 33 * H + 1,
    cancelled: 33 * H + 5,
    reason: "bot timeout",
  }),
  order("o6", [item("prod-hammer", "Claw hammer", 1895, 1)], {
    placed: 34 * H,
    cancelled: 34 * H,
    reason: "payment refused",
  }),
  order("o7", [item("prod-atlas", "World atlas", 3450, 1)], { placed: 35 * H, paid: 35 * H + 1 }),
].flat();

const OVERALL: Figures = {
  orders: { placed: 7, paid: 5, ready: 3, pickedUp: 3, cancelled: 3 },
  cancelledByReason: { "bot timeout": 1, "payment refused": 2 },
  revenueCaptured: 1499 + 1299 + 575,
  topProducts: [
    { productId: "prod-tea", name: "Green tea", quantity: 3 },
    { productId: "prod-apples", name: "Apples (1 kg)", quantity: 1 },
    { productId: "prod-novel", name: "A long novel", quantity: 1 },
  ],
  meanMinutesToPickup: 40,
};
const DAY_ONE: Figures = {
  orders: { placed: 4, paid: 3, ready: 2, pickedUp: 2, cancelled: 1 },
  cancelledByReason: { "payment refused": 1 },
  revenueCaptured: 1499 + 1299,
  topProducts: [
    { productId: "prod-tea", name: "Green tea", quantity: 2 },
    { productId: "prod-apples", name: "Apples (1 kg)", quantity: 1 },
    { productId: "prod-novel", name: "A long novel", quantity: 1 },
  ],
  meanMinutesToPickup: 30,
};
const DAY_TWO: Figures = {
  orders: { placed: 3, paid: 2, ready: 1, pickedUp: 1, cancelled: 2 },
  cancelledByReason: { "bot timeout": 1, "payment refused": 1 },
  revenueCaptured: 575,
  topProducts: [{ productId: "prod-tea", name: "Green tea", quantity: 1 }],
  meanMinutesToPickup: 60,
};

async function publish(events: readonly CloudEvent[]) {
  for (const event of events) assert.equal((await client.send(event)).kind, "ack", event.id);
}

async function get(url: string, path: string, key: string = DEMO_KEYS.internal) {
  const response = await fetch(`${url}${path}`, { headers: { "X-API-Key": key } });
  return { status: response.status, body: (await response.json()) as unknown };
}

/** GET /figures once the projector has nothing left to read (everything was published before). */
async function caughtUp(url: string, path = "/figures"): Promise<unknown> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const lag = (await get(url, "/lag")).body as { events: number; exact: boolean };
    if (lag.events === 0 && lag.exact) return (await get(url, path)).body;
    if (Date.now() > deadline) assert.fail(`analytics did not catch up: ${JSON.stringify(lag)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function spawnAnalytics(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      MALLBOTS_HERALD_URL: server.url,
      MALLBOTS_DATA_DIR: dataDir,
      MALLBOTS_PORT: "0",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const ready = /READY analytics (\S+)\n/.exec(out);
      if (ready) resolve({ child, url: ready[1]! });
    });
    child.once("exit", (code, signal) => reject(new Error(`analytics exited (${signal ?? code})`)));
  });
}

async function kill(child: ChildProcess) {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

test("started after the history exists: the figures are the history's, overall and per day; restarted, nothing counts twice", {
  timeout: 90_000,
}, async () => {
  await publish(HISTORY);
  let analytics = await spawnAnalytics();
  assert.deepEqual(await caughtUp(analytics.url), OVERALL);
  assert.deepEqual((await get(analytics.url, "/figures?day=2026-11-30")).body, DAY_ONE);
  assert.deepEqual((await get(analytics.url, "/figures?day=2026-12-01")).body, DAY_TWO);
  assert.deepEqual((await get(analytics.url, "/figures/daily")).body, {
    days: [
      { day: "2026-11-30", ...DAY_ONE },
      { day: "2026-12-01", ...DAY_TWO },
    ],
  });
  // The staff key reads the figures too; no key, no figures.
  assert.equal((await get(analytics.url, "/figures", DEMO_KEYS.staff)).status, 200);
  assert.equal((await fetch(`${analytics.url}/figures`)).status, 401);
  assert.equal((await get(analytics.url, "/figures", DEMO_KEYS.kiosk)).status, 401);

  // Killed; meanwhile o7 is cancelled, o8 placed, and o3's cancellation is published again under
  // another id (a producer's retry that Herald's dedupe cannot see): restarted, it counts each once.
  await kill(analytics.child);
  await publish([
    ...order("o7", [APPLES], { placed: 35 * H, cancelled: 36 * H, reason: "customer left" }).slice(1),
    ...order("o8", [APPLES], { placed: 37 * H }),
    OrderCancelled.create({
      id: "o3:cancelled:again",
      subject: "o3",
      time: new Date(Date.UTC(2026, 11, 1, 13)).toISOString(),
      data: { orderId: "o3", reason: "payment refused" },
    }),
  ]);
  analytics = await spawnAnalytics();
  assert.deepEqual(await caughtUp(analytics.url), {
    ...OVERALL,
    orders: { ...OVERALL.orders, placed: 8, cancelled: 4 },
    cancelledByReason: { "bot timeout": 1, "customer left": 1, "payment refused": 2 },
  });
  await kill(analytics.child);
});

test("rebuild() projects the log again into a new generation and arrives at the same figures", {
  timeout: 60_000,
}, async () => {
  const analytics = await startAnalytics(
    readConfig({ MALLBOTS_HERALD_URL: server.url, MALLBOTS_DATA_DIR: dataDir, MALLBOTS_PORT: "0" }),
  );
  try {
    const before = await caughtUp(analytics.url);
    const generation = analytics.projector.generation!;
    const response = await fetch(`${analytics.url}/rebuild`, {
      method: "POST",
      headers: { "X-API-Key": DEMO_KEYS.internal },
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { generation: generation + 1 });
    assert.deepEqual(await caughtUp(analytics.url), before);
    assert.equal((before as Figures).orders.placed, 8, "the history of the test before");
    // Only the internal key may rebuild.
    const staff = await fetch(`${analytics.url}/rebuild`, {
      method: "POST",
      headers: { "X-API-Key": DEMO_KEYS.staff },
    });
    assert.equal(staff.status, 403);
  } finally {
    await analytics.stop();
  }
});
