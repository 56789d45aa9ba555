import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import type { CloudEvent } from "@herald/cloudevents";
import { HeraldClient, NonRetryableError, RetryableError } from "@herald/sdk";
import { deferred, event } from "./support/events.js";
import { FakePullBroker } from "./support/fake-pull-broker.js";

let fake: FakePullBroker;
let url: string;
before(async () => {
  fake = new FakePullBroker();
  url = await fake.start();
});
after(() => fake.close());
beforeEach(() => {
  fake.queue.length = 0;
  fake.acked.length = 0;
  fake.nacked.length = 0;
  fake.published.length = 0;
});

const msg = (ackId: string, deliveryCount = 1) => ({ ackId, deliveryCount, event: event({ id: ackId }) });

async function until(check: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("acks handled messages, never running more than `concurrency` handlers at once", async () => {
  const client = new HeraldClient({ url });
  let running = 0;
  let peak = 0;
  fake.push(...Array.from({ length: 12 }, (_, i) => msg(`a${i}`)));
  const consumer = client.subscribe(
    "orders",
    async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
    },
    { transport: "poll", concurrency: 3, waitMs: 50 },
  );
  await until(() => fake.acked.length === 12);
  await consumer.stop();
  assert.equal(peak, 3);
  assert.deepEqual([...fake.acked].sort(), Array.from({ length: 12 }, (_, i) => `a${i}`).sort());
  assert.equal(consumer.stats.handled, 12);
  await client.close();
});

test("nacks failures with backoff by delivery count, the asked delay, or 0 for non-retryable", async () => {
  const client = new HeraldClient({ url });
  fake.push(msg("plain", 3), msg("asked", 1), msg("fatal", 1));
  const consumer = client.subscribe(
    "orders",
    (e) => {
      if (e.id === "asked") throw new RetryableError("later", { delayMs: 1234 });
      if (e.id === "fatal") throw new NonRetryableError("never");
      throw new Error("db down");
    },
    { transport: "poll", waitMs: 50, backoff: { baseMs: 100, capMs: 10_000 } },
  );
  await until(() => fake.nacked.length === 3);
  await consumer.stop();
  const byId = Object.fromEntries(fake.nacked.map((n) => [n.ackId, n.delayMs]));
  assert.ok(
    byId["plain"]! >= 0 && byId["plain"]! <= 400,
    `third delivery waits ≤ base·2², got ${byId["plain"]}`,
  );
  assert.equal(byId["asked"], 1234);
  assert.equal(byId["fatal"], 0);
  assert.equal(fake.acked.length, 0);
  assert.equal(consumer.stats.failed, 3);
  await client.close();
});

test("publishes what the handler emitted and its reply before acking", async () => {
  const client = new HeraldClient({ url });
  const request = event({ id: "req-1", type: "price.requested" });
  fake.push({ ackId: "r1", deliveryCount: 1, event: request });
  const consumer = client.subscribe(
    "pricing",
    (_e, ctx) => {
      ctx.emit({ source: "/pricing", type: "price.audited" });
      return { source: "/pricing", type: "price.quoted", data: { cents: 100 } };
    },
    { transport: "poll", waitMs: 50 },
  );
  await until(() => fake.acked.length === 1);
  await consumer.stop();
  const published = fake.published as Array<Record<string, unknown>>;
  assert.deepEqual(
    published.map((p) => p["type"]),
    ["price.audited", "price.quoted"],
  );
  assert.equal(published[1]!["causationid"], "req-1");
  assert.equal(published[1]!["correlationid"], "req-1");
  await client.close();
});

test("a handler that returns a non-event value (e.g. from Array.push) is just done", async () => {
  const client = new HeraldClient({ url });
  const seen: string[] = [];
  fake.push(msg("v1"));
  const record: (e: CloudEvent) => void = (e) => seen.push(e.id); // returns a number at run time
  const consumer = client.subscribe("orders", record, { transport: "poll", waitMs: 50 });
  await until(() => fake.acked.length === 1);
  await consumer.stop();
  assert.deepEqual(fake.published, []);
  assert.deepEqual(fake.nacked, []);
  await client.close();
});

test("stop() lets running handlers finish, acks them, and hands back nothing it did not start", async () => {
  const client = new HeraldClient({ url });
  const started = deferred();
  const release = deferred();
  let finished = false;
  fake.push(msg("slow"));
  const consumer = client.subscribe(
    "orders",
    async () => {
      started.resolve();
      await release.promise;
      finished = true;
    },
    { transport: "poll", waitMs: 50 },
  );
  await started.promise;
  const stopping = consumer.stop();
  let stopped = false;
  void stopping.then(() => {
    stopped = true;
  });
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(stopped, false, "stop waits for the running handler");
  release.resolve();
  await stopping;
  assert.equal(finished, true);
  assert.deepEqual(fake.acked, ["slow"]);
  const pullsAfterStop = fake.pulls;
  fake.push(msg("late"));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(fake.pulls, pullsAfterStop, "no pulls after stop");
  await client.close();
});

test("messages pulled while stopping are handed back at once (nack, no delay)", async () => {
  const client = new HeraldClient({ url });
  let handled = 0;
  const consumer = client.subscribe(
    "orders",
    () => {
      handled++;
    },
    { transport: "poll", waitMs: 300 },
  );
  await until(() => fake.pulls > 0);
  const stopping = consumer.stop();
  fake.push(msg("arrived-during-stop"));
  await stopping;
  assert.equal(handled, 0);
  assert.deepEqual(fake.nacked, [{ ackId: "arrived-during-stop", delayMs: 0 }]);
  await client.close();
});
