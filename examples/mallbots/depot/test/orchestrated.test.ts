// Depot in the orchestrated flow, against a real herald serve: the saga's commands (published here as
// the orchestrator would), the bots' calls (as the gateway makes them) and the events Depot publishes.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { HeraldClient } from "@herald/sdk";
import type { HeraldServer } from "@herald/server";
import {
  AssignShopping,
  BotDispatched,
  BotRecalled,
  CancelShopping,
  DEMO_KEYS,
  HoldForPickup,
  OrderHandedOver,
  ProductUpdated,
  type RunningService,
  ShoppingCancelled,
  ShoppingCompleted,
  StopShopped,
  SUBSCRIPTIONS,
  TaskCreated,
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
  depot = await startDepot(depotConfig(server.url, dir.path, "orchestrated"));
});

after(async () => {
  await depot?.stop();
  await client?.close();
  await server?.close();
  dir?.remove();
});

/** The order's trace: the saga's commands carry it. */
const traceOf = (orderId: string) =>
  `00-${Buffer.from(orderId.padEnd(16, "-")).toString("hex").slice(0, 32)}-00f067aa0ba902b7-01`;

const assign = (orderId: string, quantities: Record<string, number>) =>
  AssignShopping.create({
    subject: orderId,
    correlationid: orderId,
    traceparent: traceOf(orderId),
    data: { orderId, items: items(quantities) },
  });

const traceIdOf = (event: { readonly [attribute: string]: unknown } | undefined) =>
  String(event?.["traceparent"]).split("-")[1];

const taskIn = (orderId: string, status: string) =>
  waitFor(`${orderId}'s task ${status}`, async () => {
    const task = await api.taskOf(orderId);
    return task?.status === status ? task : undefined;
  });

async function eventsAbout(type: string, orderId: string) {
  return (await logEvents(client, type)).filter((e) => e.subject === orderId);
}

const waitForEvents = (type: string, orderId: string, count: number) =>
  waitFor(`${count} ${type} about ${orderId}`, async () => {
    const found = await eventsAbout(type, orderId);
    return found.length >= count ? found : undefined;
  });

test("a task's stops group the items by store, names and locations from Depot's catalog copy", async () => {
  // The shelf's name changed after the order was placed: the bot looks for the catalog's.
  await send(
    client,
    ProductUpdated.create({
      subject: "store-bookshop",
      data: {
        productId: "prod-novel",
        storeId: "store-bookshop",
        name: "A very long novel",
        description: "Paperback",
        sku: "PC-100",
        price: 1299,
      },
    }),
  );
  await settled(client, SUBSCRIPTIONS.depotCatalog);
  await send(client, assign("o-stops", { "prod-apples": 2, "prod-novel": 1, "prod-pears": 1 }));
  const task = await taskIn("o-stops", "queued");
  const stops = [
    {
      storeId: "store-greengrocer",
      storeName: "The Greengrocer",
      location: "Level 1, east wing",
      items: [
        { productId: "prod-apples", name: "Apples (1 kg)", quantity: 2 },
        { productId: "prod-pears", name: "Pears (1 kg)", quantity: 1 },
      ],
    },
    {
      storeId: "store-bookshop",
      storeName: "Pages & Co.",
      location: "Level 2, north wing",
      items: [{ productId: "prod-novel", name: "A very long novel", quantity: 1 }],
    },
  ];
  assert.deepEqual(task.stops, stops);
  const [created] = await waitForEvents(TaskCreated.type, "o-stops", 1);
  assert.deepEqual(created?.data, { taskId: task.taskId, orderId: "o-stops", stops });
  assert.equal(created?.["correlationid"], "o-stops");

  // Cancelling a task no bot has yet recalls nobody.
  await send(client, CancelShopping.create({ subject: "o-stops", data: { orderId: "o-stops" } }));
  await taskIn("o-stops", "cancelled");
  const [answer] = await waitForEvents(ShoppingCancelled.type, "o-stops", 1);
  assert.deepEqual(answer?.data, { orderId: "o-stops", taskId: task.taskId });
  assert.deepEqual(await eventsAbout(BotRecalled.type, "o-stops"), []);
});

test("dispatch: queued tasks go to idle bots first come first served; completion is published once", async () => {
  for (const orderId of ["o-a", "o-b", "o-c"]) {
    await send(client, assign(orderId, { "prod-tea": 1, "prod-hammer": 1 }));
    await taskIn(orderId, "queued");
  }
  const taskA = (await api.taskOf("o-a"))!;
  const ready1 = await api.ready("bot-1");
  assert.equal(ready1.status, 200);
  assert.equal(ready1.body.task?.orderId, "o-a");
  assert.equal((await api.ready("bot-2")).body.task?.orderId, "o-b");
  assert.equal((await api.taskOf("o-c"))?.status, "queued");
  const [dispatched] = await waitForEvents(BotDispatched.type, "o-a", 1);
  assert.deepEqual(dispatched?.data, { botId: "bot-1", ...ready1.body.task });

  // A store's stop is published once; a stop the task does not have, or another bot's call, is refused.
  assert.equal((await api.stop(taskA.taskId, "store-greengrocer", "bot-1")).status, 200);
  const again = await api.stop(taskA.taskId, "store-greengrocer", "bot-1");
  assert.equal(again.status, 200);
  assert.deepEqual(again.body.shoppedStores, ["store-greengrocer"]);
  assert.equal((await api.stop(taskA.taskId, "store-bookshop", "bot-1")).status, 422);
  assert.equal((await api.stop(taskA.taskId, "store-tools", "bot-2")).status, 422);
  assert.equal((await api.stop("task-nope", "store-tools", "bot-1")).status, 404);
  assert.equal((await api.stop(taskA.taskId, "store-tools", "bot-1")).status, 200);

  const completed = await api.complete(taskA.taskId, "bot-1");
  assert.equal(completed.status, 200);
  assert.equal(completed.body.status, "shopped");
  assert.equal((await api.complete(taskA.taskId, "bot-1")).status, 200, "a repeat is answered");
  // bot-1 is free: the queue's next task is its at once.
  const bots = (await api.bots()).body;
  const taskC = (await api.taskOf("o-c"))!;
  assert.deepEqual(
    bots.map((b) => [b.botId, b.status, b.taskId]),
    [
      ["bot-1", "busy", taskC.taskId],
      ["bot-2", "busy", (await api.taskOf("o-b"))!.taskId],
    ],
  );
  assert.equal((await api.complete((await api.taskOf("o-b"))!.taskId, "bot-1")).status, 422);

  const [done] = await waitForEvents(ShoppingCompleted.type, "o-a", 1);
  assert.deepEqual(done?.data, { taskId: taskA.taskId, orderId: "o-a", botId: "bot-1" });
  assert.equal(done?.["correlationid"], "o-a");
  // A bot's report is not the order's conversation, but its events stay in the order's trace.
  assert.equal(traceIdOf(done), traceOf("o-a").split("-")[1]);
  assert.equal(traceIdOf(dispatched), traceOf("o-a").split("-")[1]);
  await waitForEvents(BotDispatched.type, "o-c", 1);
  assert.equal((await eventsAbout(ShoppingCompleted.type, "o-a")).length, 1);
  assert.deepEqual(
    (await eventsAbout(StopShopped.type, "o-a")).map((e) => (e.data as { storeId: string }).storeId),
    ["store-greengrocer", "store-tools"],
  );
});

test("a bot that goes offline gives its task back to the queue, and another bot gets it", async () => {
  const taskB = (await api.taskOf("o-b"))!;
  assert.equal(taskB.botId, "bot-2");
  assert.equal((await api.offline("bot-2")).status, 204);
  assert.equal((await api.taskOf("o-b"))?.status, "queued");
  assert.equal((await api.bots()).body.find((b) => b.botId === "bot-2")?.status, "offline");
  assert.equal((await api.complete(taskB.taskId, "bot-2")).status, 422);

  const ready3 = await api.ready("bot-3");
  assert.equal(ready3.body.task?.taskId, taskB.taskId);
  const dispatches = await waitForEvents(BotDispatched.type, "o-b", 2);
  assert.deepEqual(
    dispatches.map((e) => [e.id, (e.data as { botId: string }).botId]),
    [
      [`${taskB.taskId}:dispatched:1`, "bot-2"],
      [`${taskB.taskId}:dispatched:2`, "bot-3"],
    ],
  );
  // A bot reconnecting while it holds its task gets that task back.
  assert.equal((await api.ready("bot-3")).body.task?.taskId, taskB.taskId);
  // bot-2 comes back: nothing is queued, it waits idle.
  assert.deepEqual((await api.ready("bot-2")).body, { botId: "bot-2" });
});

test("CancelShopping recalls the bot and is answered, also for an order Depot never had", async () => {
  const taskC = (await api.taskOf("o-c"))!;
  assert.equal(taskC.botId, "bot-1");
  await send(
    client,
    CancelShopping.create({ subject: "o-c", correlationid: "o-c", data: { orderId: "o-c" } }),
  );
  await taskIn("o-c", "cancelled");
  const [recalled] = await waitForEvents(BotRecalled.type, "o-c", 1);
  assert.deepEqual(recalled?.data, { botId: "bot-1", taskId: taskC.taskId, orderId: "o-c" });
  const [answer] = await waitForEvents(ShoppingCancelled.type, "o-c", 1);
  assert.deepEqual(answer?.data, { orderId: "o-c", taskId: taskC.taskId });
  assert.equal((await api.stop(taskC.taskId, "store-tools", "bot-1")).status, 422);
  assert.equal((await api.complete(taskC.taskId, "bot-1")).status, 422);
  assert.equal((await api.bots()).body.find((b) => b.botId === "bot-1")?.status, "idle");

  await send(client, CancelShopping.create({ subject: "o-none", data: { orderId: "o-none" } }));
  const [none] = await waitForEvents(ShoppingCancelled.type, "o-none", 1);
  assert.deepEqual(none?.data, { orderId: "o-none" });
});

test("pickup: refused until HoldForPickup, then handed over once", async () => {
  const taskA = (await api.taskOf("o-a"))!;
  assert.equal(taskA.status, "shopped");
  assert.equal((await api.pickup("o-a")).status, 422, "shopped is not ready for pickup yet");
  assert.equal((await api.pickup("o-b")).status, 422, "still shopping");
  assert.equal((await api.pickup("o-unknown")).status, 422);
  await send(client, HoldForPickup.create({ subject: "o-a", data: { orderId: "o-a" } }));
  await taskIn("o-a", "awaiting-pickup");
  const first = await api.pickup("o-a");
  assert.deepEqual([first.status, first.body], [200, { orderId: "o-a", taskId: taskA.taskId }]);
  assert.equal((await api.pickup("o-a")).status, 200);
  assert.equal((await api.taskOf("o-a"))?.status, "picked-up");
  const [handed] = await waitForEvents(OrderHandedOver.type, "o-a", 1);
  assert.deepEqual(handed?.data, { orderId: "o-a", taskId: taskA.taskId });
  assert.equal((await eventsAbout(OrderHandedOver.type, "o-a")).length, 1);
});

test("a repeated command and redelivered events change nothing", async () => {
  // The saga sends AssignShopping again (another id): the order has its task already.
  await send(client, assign("o-a", { "prod-apples": 1 }));
  await settled(client, SUBSCRIPTIONS.depotFlow);
  const db = new Database(join(dir.path, "depot", "depot.db"), { readonly: true });
  try {
    const snapshot = () => ({
      outbox: db.prepare("SELECT count(*) AS n FROM herald_outbox").get(),
      tasks: db
        .prepare("SELECT task_id, status, bot_id, shopped_stores, dispatches FROM tasks ORDER BY seq")
        .all(),
    });
    const before = snapshot();
    const handled = () => depot.app.outcomes.get(`herald.${SUBSCRIPTIONS.depotFlow}`, "handled");
    const handledBefore = handled();
    assert.equal((await eventsAbout(TaskCreated.type, "o-a")).length, 1);
    // Herald hands every event over again, from the start of the log.
    for (const id of [SUBSCRIPTIONS.depotFlow, SUBSCRIPTIONS.depotCatalog]) {
      const reset = await client.resetSubscription(id, { to: "beginning" });
      assert.ok(reset.redeliver > 0);
    }
    await settled(client, SUBSCRIPTIONS.depotFlow);
    await settled(client, SUBSCRIPTIONS.depotCatalog);
    // Every command came again (handled: acked), and the inbox kept each from doing anything twice.
    assert.ok(handled() >= handledBefore * 2, `${handled()} handled, ${handledBefore} before the reset`);
    assert.deepEqual(snapshot(), before);
  } finally {
    db.close();
  }
});

test("the API needs the internal key", async () => {
  assert.equal((await depotApi(() => depot.url, "nope").bots()).status, 401);
  assert.equal((await depotApi(() => depot.url, DEMO_KEYS.kiosk).bots()).status, 401);
});
