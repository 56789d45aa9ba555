// The default consumer (`transport: "auto"`) against a real broker: it streams over the WebSocket with
// batched acks, resumes without loss when the connection is cut mid-stream, and long-polls when the
// broker refuses WebSocket upgrades (an older broker); other refusals still end it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { ConsumerRejectedError, HeraldClient } from "@herald/sdk";
import { startHerald } from "./support/herald.js";
import { startProxy } from "./support/proxy.js";
import { until } from "./support/wait.js";

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

let serial = 0;
const unique = (what: string) => `${what}-${process.pid}-${++serial}`;
const ev = (type: string, i: number) =>
  new CloudEvent({ source: "/auto", type, id: `${type}-${i}`, data: { i } });
const fast = { backoff: { baseMs: 1, capMs: 5 }, reconnect: { baseMs: 20, capMs: 200 }, onError: () => {} };

async function settled(id: string, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const stats = await client.subscriptionStats(id);
    if (stats.lag === 0 && stats.inFlight === 0 && stats.delivered >= count) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`subscription ${id} did not settle: ${JSON.stringify(await client.subscriptionStats(id))}`);
}

describe("the default consumer", () => {
  test("streams over one WebSocket, every message acked, acks batched on it", async () => {
    const id = unique("auto-ws");
    await client.createSubscription({ id, types: [`${id}.e`], config: { ordering: "none" } });
    const events = Array.from({ length: 200 }, (_, i) => ev(`${id}.e`, i));
    assert.ok((await client.sendBatch(events)).ok);
    const seen = new Set<string>();
    const proxy = await startProxy(herald.url);
    const local = new HeraldClient({ url: proxy.url });
    try {
      // Batches of 20 (the default is half the concurrency, or what 5 ms gathered): 200 acks in 10 frames.
      const consumer = local.subscribe(id, (e) => void seen.add(e.id), {
        concurrency: 64,
        ackBatchSize: 20,
        ackDelayMs: 2_000,
        ...fast,
      });
      await until(() => seen.size === events.length, 10_000, "all handled");
      await until(() => consumer.stats.handled === events.length, 5_000, "all counted");
      assert.equal(consumer.transport, "ws");
      await settled(id, events.length);
      await consumer.stop();
      assert.equal(proxy.upgrades, 1, "one WebSocket, no long-poll");
      const acks = proxy.clientMessages.map((m) => JSON.parse(m) as { ack?: string[] }).filter((m) => m.ack);
      assert.equal(
        acks.flatMap((m) => m.ack!).length,
        events.length,
        "every message acked once, on the socket",
      );
      // A partial batch only goes out when 2 s pass without the batch filling.
      assert.ok(acks.length <= 12, `${acks.length} ack frames for ${events.length} messages`);
    } finally {
      await local.close();
      await proxy.close();
    }
  });

  test("a connection cut mid-stream: every event handled at least once, all acked in the end", async () => {
    const id = unique("auto-cut");
    await client.createSubscription({
      id,
      types: [`${id}.e`],
      config: { ordering: "none", ackTimeoutMs: 60_000 },
    });
    const events = Array.from({ length: 300 }, (_, i) => ev(`${id}.e`, i));
    assert.ok((await client.sendBatch(events)).ok);
    const proxy = await startProxy(herald.url);
    const local = new HeraldClient({ url: proxy.url });
    const handled = new Map<string, number>();
    let cut = false;
    try {
      const consumer = local.subscribe(
        id,
        async (e) => {
          handled.set(e.id, (handled.get(e.id) ?? 0) + 1);
          if (!cut && handled.size === 100) {
            cut = true;
            // Acks of the handlers running now are lost with the connection: the broker redelivers.
            proxy.dropAll();
          }
          await new Promise((r) => setTimeout(r, 1));
        },
        { concurrency: 16, ...fast },
      );
      await until(() => handled.size === events.length, 20_000, "every event handled");
      await settled(id, events.length);
      assert.ok(cut);
      assert.ok((consumer.stats.reconnects ?? 0) >= 1, "reconnected");
      assert.ok(proxy.upgrades >= 2);
      await consumer.stop();
    } finally {
      await local.close();
      await proxy.close();
    }
  });

  test("long-polls when the broker refuses WebSocket upgrades", async () => {
    const id = unique("auto-poll");
    await client.createSubscription({ id, types: [`${id}.e`] });
    const proxy = await startProxy(herald.url);
    proxy.refuseUpgrades = true;
    const local = new HeraldClient({ url: proxy.url });
    const errors: Error[] = [];
    try {
      const seen: string[] = [];
      const consumer = local.subscribe(id, (e) => void seen.push(e.id), {
        ...fast,
        waitMs: 100,
        onError: (e) => errors.push(e),
      });
      assert.ok((await client.sendBatch(Array.from({ length: 20 }, (_, i) => ev(`${id}.e`, i)))).ok);
      await until(() => seen.length === 20, 10_000, "all handled");
      assert.equal(consumer.transport, "poll");
      await settled(id, 20);
      await consumer.stop();
      assert.equal(consumer.error, undefined);
      assert.deepEqual(errors, [], "the refused upgrade is not reported as an error");
    } finally {
      await local.close();
      await proxy.close();
    }
  });

  test("an unknown subscription still ends it with the refusal (no fallback)", async () => {
    const consumer = client.subscribe(unique("missing"), () => {}, fast);
    await assert.rejects(consumer.done(), (error: unknown) => {
      assert.ok(error instanceof ConsumerRejectedError);
      assert.equal(error.status, 404);
      assert.equal(error.problem.code, "subscription-not-found");
      return true;
    });
    assert.equal(consumer.transport, "ws");
  });
});
