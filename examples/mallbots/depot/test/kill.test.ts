// A Depot process (dist/src/main.js) SIGKILLed again and again while commands arrive and bots shop:
// every change it acknowledged is still there after the restart, every order is shopped once, and
// no event is published twice (each order: one TaskCreated, one ShoppingCompleted, one StopShopped
// per store).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import { HeraldClient } from "@herald/sdk";
import type { HeraldServer } from "@herald/server";
import {
  AssignShopping,
  BotDispatched,
  ShoppingCompleted,
  StopShopped,
  TaskCreated,
} from "@mallbots/contracts";
import {
  type Answer,
  depotApi,
  depotEnv,
  items,
  logEvents,
  publishCatalog,
  send,
  startHerald,
  type TaskBody,
  tempDir,
  waitFor,
} from "./support.js";

const ORDERS = 30;
const KILLS = 3;
const BOTS = ["bot-1", "bot-2", "bot-3"];
const MAIN = new URL("../src/main.js", import.meta.url).pathname;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

let server: HeraldServer | undefined;
let client: HeraldClient | undefined;
let depot: ChildProcess | undefined;
const dir = tempDir();

after(async () => {
  depot?.kill("SIGKILL");
  await client?.close();
  await server?.close();
  dir.remove();
});

test("SIGKILL of Depot under load loses no acknowledged change and duplicates no event", {
  timeout: 240_000,
}, async () => {
  server = await startHerald();
  client = new HeraldClient({ url: server.url });
  await publishCatalog(client);
  const port = await freePort();
  const env = {
    ...process.env,
    ...depotEnv(server.url, dir.path, "orchestrated", { MALLBOTS_PORT: String(port) }),
  };
  const api = depotApi(() => `http://127.0.0.1:${port}`);

  async function startDepot(): Promise<void> {
    const child = spawn(process.execPath, [MAIN], { env, stdio: ["ignore", "pipe", "pipe"] });
    depot = child;
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const lines = createInterface({ input: child.stdout! });
    const exited = once(child, "exit").then(([code]) => {
      throw new Error(`depot exited (${String(code)}) before READY: ${stderr}`);
    });
    const ready = (async () => {
      for await (const line of lines) if (line.startsWith("READY depot ")) return;
    })();
    await Promise.race([ready, exited]);
    exited.catch(() => {});
  }

  // The bots' calls wait at the gate while Depot is down; a call cut by the kill is not acknowledged
  // and is made again.
  let gate: Promise<void> = Promise.resolve();
  let open = () => {};
  async function call<T>(request: () => Promise<Answer<T>>): Promise<Answer<T>> {
    for (;;) {
      await gate;
      try {
        return await request();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  const ackedCompletions = new Map<string, string>(); // taskId → orderId
  const ackedStops = new Set<string>(); // taskId/storeId
  let stopped = false;
  async function shop(botId: string): Promise<void> {
    while (!stopped) {
      const ready = await call(() => api.ready(botId));
      const task = ready.body.task;
      if (task === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 20)); // nothing queued yet: ask again
        continue;
      }
      for (const stop of task.stops) {
        const shopped: Answer<TaskBody> = await call(() => api.stop(task.taskId, stop.storeId, botId));
        assert.equal(shopped.status, 200, JSON.stringify(shopped.body));
        ackedStops.add(`${task.taskId}/${stop.storeId}`);
      }
      const done: Answer<TaskBody> = await call(() => api.complete(task.taskId, botId));
      assert.equal(done.status, 200, JSON.stringify(done.body));
      ackedCompletions.set(task.taskId, task.orderId);
    }
  }

  await startDepot();
  const bots = BOTS.map((botId) => shop(botId));
  // The saga's commands keep coming while Depot dies and comes back (herald serve holds them).
  const orderIds = Array.from({ length: ORDERS }, (_, i) => `o-kill-${i + 1}`);
  const publishing = (async () => {
    for (const orderId of orderIds) {
      await send(
        client!,
        AssignShopping.create({
          subject: orderId,
          correlationid: orderId,
          data: { orderId, items: items({ "prod-apples": 1, "prod-novel": 1, "prod-hammer": 1 }) },
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
  })();

  for (let kill = 1; kill <= KILLS; kill++) {
    await waitFor(
      `${kill * 6} completions before kill ${kill}`,
      () => ackedCompletions.size >= kill * 6,
      120_000,
    );
    const child = depot!;
    child.kill("SIGKILL");
    gate = new Promise((resolve) => {
      open = resolve;
    });
    if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
    // Everything acknowledged before the kill, checked before any bot goes on.
    const completions = [...ackedCompletions.keys()];
    const stops = [...ackedStops];
    await startDepot();
    for (const taskId of completions) {
      const task = await api.task(taskId);
      assert.equal(task.body.status, "shopped", `kill ${kill}: completed ${taskId} is ${task.body.status}`);
    }
    for (const key of stops) {
      const [taskId, storeId] = key.split("/") as [string, string];
      const task = await api.task(taskId);
      assert.ok(task.body.shoppedStores.includes(storeId), `kill ${kill}: lost stop ${key}`);
    }
    open();
  }

  await publishing;
  await waitFor("every order shopped", () => ackedCompletions.size === ORDERS, 120_000);
  stopped = true;
  await Promise.all(bots);

  // The outbox drains after the last restart: then the log holds each event once.
  const completed = await waitFor(
    "every ShoppingCompleted in the log",
    async () => {
      const events = await logEvents(client!, ShoppingCompleted.type);
      return events.length >= ORDERS ? events : undefined;
    },
    60_000,
  );
  const log = await logEvents(client);
  const count = (type: string, orderId: string) =>
    log.filter((e) => e.type === type && e.subject === orderId).length;
  for (const orderId of orderIds) {
    assert.equal(count(TaskCreated.type, orderId), 1, `${orderId} TaskCreated`);
    assert.equal(count(ShoppingCompleted.type, orderId), 1, `${orderId} ShoppingCompleted`);
    assert.equal(count(StopShopped.type, orderId), 3, `${orderId} StopShopped`);
    assert.ok(count(BotDispatched.type, orderId) >= 1, `${orderId} BotDispatched`);
  }
  assert.equal(completed.length, ORDERS);
  assert.deepEqual(
    new Set(completed.map((e) => (e.data as { orderId: string }).orderId)),
    new Set(ackedCompletions.values()),
  );
  const ids = log.map((e) => `${e.source} ${e.id}`);
  assert.equal(new Set(ids).size, ids.length);
  depot?.kill("SIGTERM");
  await once(depot!, "exit");
});
