// Runs the getting-started example against a real broker and checks that every code block of
// docs/getting-started.md is taken verbatim from the example sources.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { HeraldClient } from "@herald/sdk";
import { startHerald } from "../../support/herald.js";
import { until } from "../../support/wait.js";
import { askPrice, type Order, placeOrder, startFanOut, startPricing, startWorkers } from "./app.js";
import { describeInvalidOrder, legacyPayments, PaymentReceived, startPayments } from "./typed.js";

let herald: Awaited<ReturnType<typeof startHerald>>;
let client: HeraldClient;
before(async () => {
  herald = await startHerald();
  client = new HeraldClient({ url: herald.url });
});
after(async () => {
  await client.close();
  await herald.close();
});

test("producer: placeOrder answers the durable position", async () => {
  const first = await placeOrder(client, { orderId: "p-1", total: 5 });
  const second = await placeOrder(client, { orderId: "p-2", total: 6 });
  assert.ok(second > first);
  await assert.rejects(
    placeOrder(client, { orderId: "", total: 1 }),
    /must NOT have fewer than 1 characters/,
  );
});

test("fan-out: each of two subscriptions gets every order once", async () => {
  const billed: string[] = [];
  const shipped: string[] = [];
  const consumers = await startFanOut(
    client,
    async (o) => void billed.push(o.orderId),
    async (o) => void shipped.push(o.orderId),
  );
  for (const id of ["f-1", "f-2", "f-3"]) await placeOrder(client, { orderId: id, total: 1 });
  const mine = (list: string[]) => list.filter((id) => id.startsWith("f-")).sort();
  await until(() => mine(billed).length === 3 && mine(shipped).length === 3, 5_000, "fan-out");
  await Promise.all(consumers.map((c) => c.stop()));
  assert.deepEqual(mine(billed), ["f-1", "f-2", "f-3"]);
  assert.deepEqual(mine(shipped), ["f-1", "f-2", "f-3"]);
});

test("consumer group: two workers share one subscription, each order packed once", async () => {
  const packed = new Map<string, string[]>();
  const consumers = await startWorkers(client, async (worker, order: Order) => {
    await new Promise((r) => setTimeout(r, 15));
    packed.set(order.orderId, [...(packed.get(order.orderId) ?? []), worker]);
  });
  const ids = Array.from({ length: 24 }, (_, i) => `g-${i}`);
  await Promise.all(ids.map((orderId) => placeOrder(client, { orderId, total: 1 })));
  await until(() => ids.every((id) => packed.has(id)), 8_000, "all orders packed");
  await Promise.all(consumers.map((c) => c.stop()));
  assert.ok(
    ids.every((id) => packed.get(id)!.length === 1),
    "no order packed twice",
  );
  const byWorker = new Set(ids.map((id) => packed.get(id)![0]));
  assert.deepEqual([...byWorker].sort(), ["worker-1", "worker-2"], "both workers got a share");
});

test("request-reply: the requester gets the responder's typed reply", async () => {
  const pricing = await startPricing(client);
  assert.equal(await askPrice(client, "sku-1"), 1999);
  assert.equal(await askPrice(client, "sku-2"), 1999);
  await pricing.stop();
});

test("main.ts runs end to end against a broker given by HERALD_URL", async () => {
  const main = join(import.meta.dirname, "main.js");
  const { stdout } = await promisify(execFile)(process.execPath, [main], {
    env: { ...process.env, HERALD_URL: herald.url },
    timeout: 20_000,
  });
  for (let i = 1; i <= 4; i++) {
    assert.match(stdout, new RegExp(`placed order-${i} at position \\d+`));
    assert.match(stdout, new RegExp(`billing: invoice for order-${i} \\(${10 * i}\\)`));
    assert.match(stdout, new RegExp(`shipping: label for order-${i}`));
    assert.match(stdout, new RegExp(`worker-\\d: packed order-${i}`));
  }
  assert.match(stdout, /price of sku-42: 1999 cents/);
});

test("every code block of docs/getting-started.md is taken from the example sources", () => {
  const root = process.env["HERALD_REPO_ROOT"] ?? join(import.meta.dirname, "../../../../../..");
  const docs = readFileSync(join(root, "docs/getting-started.md"), "utf8");
  const sourceDir = join(root, "packages/sdk/test/examples/getting-started");
  const sources = ["app.ts", "main.ts", "typed.ts"]
    .map((f) => readFileSync(join(sourceDir, f), "utf8"))
    .join("\n");
  const blocks = [...docs.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 6, `expected the docs' TypeScript snippets, found ${blocks.length}`);
  for (const block of blocks) {
    assert.ok(sources.includes(block), `docs snippet not found verbatim in the examples:\n${block}`);
  }
});

test("typed events: invalid data is refused at send time, naming the field", () => {
  assert.equal(describeInvalidOrder(), "/total must be number");
});

test("typed events: old versions are upcast, invalid data is dead-lettered, not retried", async () => {
  const recorded: string[] = [];
  const rejected: string[] = [];
  const consumer = await startPayments(
    client,
    (orderId, total) => recorded.push(`${orderId}=${total}`),
    (reason) => rejected.push(reason),
  );
  const [v1, broken] = legacyPayments();
  const sent = await client.sendBatch([
    v1!,
    broken!,
    PaymentReceived.create({ data: { orderId: "o-2", total: 3 } }),
  ]);
  assert.ok(sent.ok);
  await until(() => recorded.length === 2 && rejected.length === 1, 5_000, "payments handled");
  await consumer.stop();
  assert.deepEqual(recorded.sort(), ["o-1=12.5", "o-2=3"]);
  assert.match(rejected[0]!, /\/orderId must be string/);
});
