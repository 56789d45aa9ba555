// The shopper bots against a fake gateway speaking the bot stream protocol.
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { type BotsOptions, type RunningBots, readBotsOptions, startBots, streamUrl } from "../src/index.js";
import { FakeGateway, KEY, task, waitFor } from "./fake-gateway.js";

let gateway: FakeGateway;
let bots: RunningBots | undefined;

beforeEach(async () => {
  gateway = await FakeGateway.start();
});

afterEach(async () => {
  await bots?.stop();
  bots = undefined;
  await gateway.close();
});

async function start(options: Partial<BotsOptions> = {}): Promise<RunningBots> {
  bots = startBots({
    gatewayUrl: gateway.url,
    botKey: KEY,
    count: 1,
    stepMs: 50,
    reconnect: { baseMs: 20, capMs: 100 },
    log: () => {},
    ...options,
  });
  await bots.connected;
  await waitFor("the hellos", () => bots!.bots.every((b) => gateway.hellos(b.botId) > 0));
  return bots;
}

const kinds = (taskId: string) =>
  gateway.reports(taskId).map((r) => (r.data.type === "stop-shopped" ? r.data.storeId : r.data.type));

test("a task is shopped stop by stop, a step apart, then completed; then the next task", async () => {
  const { bots: all } = await start({ count: 2, prefix: "robo" });
  assert.deepEqual(
    all.map((b) => b.botId),
    ["robo-1", "robo-2"],
  );
  const pushedAt = Date.now();
  gateway.push("robo-1", task("t-1", ["s-a", "s-b"]));
  await waitFor("t-1 completed", () => kinds("t-1").includes("completed"));
  assert.deepEqual(kinds("t-1"), ["s-a", "s-b", "completed"]);
  const [a, b] = gateway.reports("t-1");
  assert.ok(a!.at - pushedAt >= 45, "the first stop takes a step");
  assert.ok(b!.at - a!.at >= 45, "each stop takes a step");
  assert.deepEqual(
    gateway.reports("t-1").map((r) => r.data.botId),
    ["robo-1", "robo-1", "robo-1"],
  );
  // Every report is a request of its own (ids from 2 up, the hello's stream is id 1).
  const ids = gateway.reports("t-1").map((r) => r.id);
  assert.equal(new Set(ids).size, 3);
  assert.ok(ids.every((id) => id > 1));

  gateway.push("robo-1", task("t-2", ["s-c"]));
  await waitFor("t-2 completed", () => kinds("t-2").includes("completed"));
  assert.deepEqual(kinds("t-2"), ["s-c", "completed"]);
  // The same task again (a late copy of its dispatch) is not shopped twice.
  gateway.push("robo-1", task("t-2", ["s-c"]));
  gateway.push("robo-1", task("t-3", ["s-d"]));
  await waitFor("t-3 completed", () => kinds("t-3").includes("completed"));
  assert.deepEqual(kinds("t-2"), ["s-c", "completed"]);
  assert.equal(
    gateway.received.filter((r) => r.data.botId === "robo-2" && r.data.type !== "hello").length,
    0,
  );
});

test("a recall stops the task at once; the bot takes the next one", async () => {
  const { bots: all } = await start({ stepMs: 200 });
  gateway.push("bot-1", task("t-1", ["s-a", "s-b", "s-c"]));
  await waitFor("the first stop", () => kinds("t-1").length === 1);
  assert.equal(all[0]!.currentTask, "t-1");
  gateway.push("bot-1", { type: "recall", taskId: "t-1" });
  await waitFor("the recall", () => all[0]!.currentTask === undefined);
  gateway.push("bot-1", task("t-2", ["s-d"]));
  await waitFor("t-2 completed", () => kinds("t-2").includes("completed"));
  // One bot does one task at a time: had the recall not stopped t-1, its stops would come first.
  assert.deepEqual(kinds("t-1"), ["s-a"]);
  // A dispatch that overtook the recall of the task before it waits for it, then runs.
  gateway.push("bot-1", task("t-3", ["s-e", "s-f"]));
  await waitFor("t-3's first stop", () => kinds("t-3").length === 1);
  gateway.push("bot-1", task("t-4", ["s-g"]));
  gateway.push("bot-1", { type: "recall", taskId: "t-3" });
  await waitFor("t-4 completed", () => kinds("t-4").includes("completed"));
  assert.deepEqual(kinds("t-3"), ["s-e"]);
});

test("a refused report drops the task", async () => {
  await start();
  gateway.refuse.add("t-1");
  gateway.push("bot-1", task("t-1", ["s-a", "s-b"]));
  gateway.push("bot-1", task("t-2", ["s-c"]));
  await waitFor("t-2 completed", () => kinds("t-2").includes("completed"));
  assert.deepEqual(kinds("t-1"), ["s-a"]);
});

test("a report answered 'unavailable' (Depot restarting) is made again; the bot keeps its task", async () => {
  await start();
  gateway.unavailable.set("t-1", 3);
  gateway.push("bot-1", task("t-1", ["s-a", "s-b"]));
  await waitFor("t-1 completed", () => kinds("t-1").includes("completed"));
  assert.deepEqual(kinds("t-1"), ["s-a", "s-a", "s-a", "s-a", "s-b", "completed"]);
});

test("stall takes a task and never finishes it", async () => {
  const { bots: all } = await start({ behaviour: "stall", stepMs: 10 });
  gateway.push("bot-1", task("t-1", ["s-a", "s-b"]));
  await waitFor("the task taken", () => all[0]!.currentTask === "t-1");
  // A shopping bot would have finished within 3 steps; give it 50.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.deepEqual(kinds("t-1"), []);
  assert.equal(all[0]!.currentTask, "t-1");
  gateway.push("bot-1", { type: "recall", taskId: "t-1" });
  await waitFor("the recall", () => all[0]!.currentTask === undefined);
});

test("after the server drops the socket the bot reconnects, says hello again and resumes a task handed back", async () => {
  const { bots: all } = await start({ stepMs: 100 });
  gateway.push("bot-1", task("t-1", ["s-a", "s-b", "s-c"]));
  await waitFor("the first stop", () => kinds("t-1").length === 1);
  gateway.drop("bot-1");
  await waitFor("a second hello", () => gateway.hellos("bot-1") === 2);
  assert.equal(all[0]!.connections, 2);
  assert.equal(all[0]!.currentTask, undefined, "the task was dropped with the socket");
  // Depot still gave it this task (its ready answer): the bot goes on from the next stop.
  gateway.push("bot-1", task("t-1", ["s-a", "s-b", "s-c"]));
  await waitFor("t-1 completed", () => kinds("t-1").includes("completed"));
  assert.deepEqual(kinds("t-1"), ["s-a", "s-b", "s-c", "completed"]);
  assert.deepEqual(
    gateway.reports("t-1").map((r) => r.connection),
    [1, 2, 2, 2],
  );
});

test("a hello stream that ends (done, or a problem: Depot unreachable) makes the bot start over", async () => {
  await start();
  gateway.endStream("bot-1", { status: 502, code: "internal-error", detail: "depot unreachable" });
  await waitFor("a second hello", () => gateway.hellos("bot-1") === 2);
  gateway.endStream("bot-1");
  await waitFor("a third hello", () => gateway.hellos("bot-1") === 3);
  // The new stream works.
  gateway.push("bot-1", task("t-1", ["s-a"]));
  await waitFor("t-1 completed", () => kinds("t-1").includes("completed"));
  assert.deepEqual(
    gateway.reports("t-1").map((r) => r.connection),
    [3, 3],
  );
});

test("the stream URL and the environment", () => {
  assert.equal(streamUrl("http://127.0.0.1:3000", "k y"), "ws://127.0.0.1:3000/bots/stream?access_token=k+y");
  assert.equal(streamUrl("https://mall.example/", "k"), "wss://mall.example/bots/stream?access_token=k");
  assert.deepEqual(readBotsOptions({}), {
    gatewayUrl: "http://127.0.0.1:3000",
    botKey: "mallbots-bot-key",
    count: 3,
    prefix: "bot",
    stepMs: 1500,
    behaviour: "shop",
  });
  const env = {
    MALLBOTS_GATEWAY_URL: "http://gw:1",
    MALLBOTS_BOT_KEY: "secret",
    MALLBOTS_BOTS: "5",
    MALLBOTS_BOT_PREFIX: "r",
    MALLBOTS_BOT_STEP_MS: "10",
    MALLBOTS_BOT_BEHAVIOUR: "stall",
  };
  assert.deepEqual(readBotsOptions(env), {
    gatewayUrl: "http://gw:1",
    botKey: "secret",
    count: 5,
    prefix: "r",
    stepMs: 10,
    behaviour: "stall",
  });
  assert.throws(() => readBotsOptions({ MALLBOTS_BOT_BEHAVIOUR: "dance" }), RangeError);
  assert.throws(() => readBotsOptions({ MALLBOTS_BOTS: "-1" }), RangeError);
});
