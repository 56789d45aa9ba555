// Depot in the choreography, against a real herald serve: it reacts to Orders' events (published here
// as Orders would) and keeps its own deadline per task, a TaskDeadline event scheduled with `deliverat`
// that herald serve holds back until it is due.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { HeraldClient } from "@herald/sdk";
import type { HeraldServer } from "@herald/server";
import {
  BotRecalled,
  OrderCancelled,
  OrderPaid,
  OrderPlaced,
  OrderReady,
  type RunningService,
  ShoppingCancelled,
  ShoppingFailed,
  SOURCES,
  SUBSCRIPTIONS,
  TaskCreated,
  TaskDeadline,
} from "@mallbots/contracts";
import Database from "better-sqlite3";
import { startDepot } from "../src/index.js";
import {
  depotApi,
  depotConfig,
  items,
  logEvents,
  publishCatalog,
  send,
  settled,
  startHerald,
  tempDir,
  waitFor,
} from "./support.js";

/** Short enough to wait for, long enough for a bot to finish first on a loaded machine. */
const BOT_TIMEOUT_MS = 3_000;

let server: HeraldServer;
let client: HeraldClient;
let dir: ReturnType<typeof tempDir>;
let depot: RunningService;
const api = depotApi(() => depot.url);

before(async () => {
  server = await startHerald();
  client = new HeraldClient({ url: server.url });
  await publishCatalog(client);
  dir = tempDir();
  depot = await startDepot(
    depotConfig(server.url, dir.path, "choreography", { MALLBOTS_BOT_TIMEOUT_MS: String(BOT_TIMEOUT_MS) }),
  );
});

after(async () => {
  await depot?.stop();
  await client?.close();
  await server?.close();
  dir?.remove();
});

/** Orders' events about an order: its subject and its conversation. */
const about = (orderId: string) => ({ subject: orderId, correlationid: orderId });

/** Orders' first two events: the order is placed (Depot remembers its items), then paid (a task). */
async function placeAndPay(orderId: string) {
  await send(
    client,
    OrderPlaced.create({
      ...about(orderId),
      data: { orderId, customerId: "ada", items: items({ "prod-atlas": 1, "prod-apples": 3 }), total: 4497 },
    }),
    OrderPaid.create({ ...about(orderId), data: { orderId, paymentId: `pay-${orderId}` } }),
  );
  return waitFor(`${orderId}'s task`, () => api.taskOf(orderId));
}

const taskIn = (orderId: string, status: string) =>
  waitFor(`${orderId}'s task ${status}`, async () => {
    const task = await api.taskOf(orderId);
    return task?.status === status ? task : undefined;
  });

async function eventsAbout(type: string, orderId: string) {
  return (await logEvents(client, type)).filter((e) => e.subject === orderId);
}

const waitForEvents = (type: string, orderId: string, count: number, timeoutMs?: number) =>
  waitFor(
    `${count} ${type} about ${orderId}`,
    async () => {
      const found = await eventsAbout(type, orderId);
      return found.length >= count ? found : undefined;
    },
    timeoutMs,
  );

test("OrderPaid makes the task and schedules its deadline; shopped in time, the deadline does nothing", async () => {
  const paidAt = Date.now();
  const task = await placeAndPay("o-1");
  assert.deepEqual(
    task.stops.map((s) => [s.storeId, s.items.length]),
    [
      ["store-bookshop", 1],
      ["store-greengrocer", 1],
    ],
  );
  // The deadline is in herald serve, pending: not in the log before it is due.
  const pending = await waitFor("the deadline to be scheduled", async () => {
    const { scheduled } = await client.listScheduled();
    return scheduled.find((s) => s.id === `${task.taskId}:deadline`);
  });
  assert.equal(pending.source, SOURCES.depot);
  const due = Date.parse(pending.deliverAt);
  assert.ok(due >= paidAt + BOT_TIMEOUT_MS && due <= Date.now() + BOT_TIMEOUT_MS, pending.deliverAt);
  assert.deepEqual(await eventsAbout(TaskDeadline.type, "o-1"), []);

  assert.equal((await api.ready("bot-1")).body.task?.taskId, task.taskId);
  assert.equal((await api.complete(task.taskId, "bot-1")).status, 200);
  assert.equal((await api.pickup("o-1")).status, 422, "not ready before OrderReady");
  await send(client, OrderReady.create({ ...about("o-1"), data: { orderId: "o-1" } }));
  await taskIn("o-1", "awaiting-pickup");
  assert.equal((await api.pickup("o-1")).status, 200);

  const [deadline] = await waitForEvents(TaskDeadline.type, "o-1", 1, 30_000);
  assert.deepEqual(deadline?.data, { taskId: task.taskId, orderId: "o-1" });
  assert.equal(deadline?.["correlationid"], "o-1");
  await settled(client, SUBSCRIPTIONS.depotFlow);
  assert.equal((await api.taskOf("o-1"))?.status, "picked-up");
  assert.deepEqual(await eventsAbout(ShoppingFailed.type, "o-1"), []);
});

test("a task not shopped by its deadline fails with 'bot timeout' and its bot is recalled", async () => {
  const task = await placeAndPay("o-2");
  // bot-1 takes it and stalls.
  assert.equal((await api.ready("bot-1")).body.task?.taskId, task.taskId);
  const [failed] = await waitForEvents(ShoppingFailed.type, "o-2", 1, BOT_TIMEOUT_MS + 30_000);
  assert.deepEqual(failed?.data, { taskId: task.taskId, orderId: "o-2", reason: "bot timeout" });
  assert.equal(failed?.["correlationid"], "o-2");
  const [recalled] = await waitForEvents(BotRecalled.type, "o-2", 1);
  assert.deepEqual(recalled?.data, { botId: "bot-1", taskId: task.taskId, orderId: "o-2" });
  const cancelled = await api.taskOf("o-2");
  assert.deepEqual([cancelled?.status, cancelled?.reason], ["cancelled", "bot timeout"]);
  assert.equal((await api.complete(task.taskId, "bot-1")).status, 422, "too late");
  assert.equal((await api.bots()).body.find((b) => b.botId === "bot-1")?.status, "idle");

  // Orders cancels the order on ShoppingFailed: Depot answers, the task stays as it is.
  await send(
    client,
    OrderCancelled.create({ ...about("o-2"), data: { orderId: "o-2", reason: "bot timeout" } }),
  );
  await waitForEvents(ShoppingCancelled.type, "o-2", 1);
  assert.equal((await eventsAbout(BotRecalled.type, "o-2")).length, 1);
});

test("OrderCancelled cancels the task and recalls its bot; before payment it forgets the order", async () => {
  const task = await placeAndPay("o-3");
  assert.equal((await api.ready("bot-1")).body.task?.taskId, task.taskId);
  await send(
    client,
    OrderCancelled.create({ ...about("o-3"), data: { orderId: "o-3", reason: "changed mind" } }),
  );
  const cancelled = await taskIn("o-3", "cancelled");
  assert.equal(cancelled.reason, "changed mind");
  const [recalled] = await waitForEvents(BotRecalled.type, "o-3", 1);
  assert.deepEqual(recalled?.data, { botId: "bot-1", taskId: task.taskId, orderId: "o-3" });
  const [answer] = await waitForEvents(ShoppingCancelled.type, "o-3", 1);
  assert.deepEqual(answer?.data, { orderId: "o-3", taskId: task.taskId });

  // Payment refused: the order is cancelled before it is paid. No task, ever.
  await send(
    client,
    OrderPlaced.create({
      ...about("o-4"),
      data: { orderId: "o-4", customerId: "broke-bob", items: items({ "prod-drill": 1 }), total: 64900 },
    }),
    OrderCancelled.create({ ...about("o-4"), data: { orderId: "o-4", reason: "payment refused" } }),
  );
  const [none] = await waitForEvents(ShoppingCancelled.type, "o-4", 1);
  assert.deepEqual(none?.data, { orderId: "o-4" });
  assert.equal(await api.taskOf("o-4"), undefined);
  const db = new Database(join(dir.path, "depot", "depot.db"), { readonly: true });
  try {
    assert.deepEqual(db.prepare("SELECT order_id FROM pending_orders").all(), []);
  } finally {
    db.close();
  }
});

test("redelivered events change nothing, deadlines included", async () => {
  // o-3's deadline comes too (a cancelled task: nothing to do); wait for it so it is part of the replay.
  await waitForEvents(TaskDeadline.type, "o-3", 1, BOT_TIMEOUT_MS + 30_000);
  await settled(client, SUBSCRIPTIONS.depotFlow);
  const db = new Database(join(dir.path, "depot", "depot.db"), { readonly: true });
  try {
    const snapshot = () => ({
      outbox: db.prepare("SELECT count(*) AS n FROM herald_outbox").get(),
      timers: db.prepare("SELECT count(*) AS n FROM depot_timer_outbox").get(),
      tasks: db.prepare("SELECT task_id, status, bot_id, reason, dispatches FROM tasks ORDER BY seq").all(),
    });
    const before = snapshot();
    const reset = await client.resetSubscription(SUBSCRIPTIONS.depotFlow, { to: "beginning" });
    assert.ok(reset.redeliver >= 10, `${reset.redeliver} to redeliver`);
    await settled(client, SUBSCRIPTIONS.depotFlow);
    assert.deepEqual(snapshot(), before);
    assert.equal((await eventsAbout(TaskCreated.type, "o-1")).length, 1);
  } finally {
    db.close();
  }
});
