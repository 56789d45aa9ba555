// Against a real `herald serve`: a pull consumer ends with ConsumerRejectedError on permanent
// refusals (as SSE/WebSocket consumers do), and resetSubscription moves a subscription under a
// running consumer.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { startServer } from "@herald/server";
import {
  ConsumerRejectedError,
  HeraldApiError,
  HeraldClient,
  SubscriptionMismatchError,
  subscriptionDifferences,
} from "@herald/sdk";
import { startHerald } from "./support/herald.js";
import { pause, until } from "./support/wait.js";

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
const ev = (type: string, data: unknown = {}) => new CloudEvent({ source: "/pull-reset", type, data });

const rejected = (status: number) => (error: unknown) => {
  assert.ok(error instanceof ConsumerRejectedError, String(error));
  assert.equal(error.status, status);
  assert.equal(error.transport, "pull");
  return true;
};

test("a pull consumer of an unknown subscription ends with ConsumerRejectedError, reported once", async () => {
  const errors: Error[] = [];
  const consumer = client.subscribe(unique("missing"), () => {}, {
    transport: "poll",
    waitMs: 50,
    onError: (e) => errors.push(e),
  });
  await assert.rejects(consumer.done(), rejected(404));
  await pause(100);
  assert.equal(errors.length, 1);
  assert.ok(consumer.error instanceof ConsumerRejectedError);
  assert.equal(consumer.error.problem.code, "subscription-not-found");
});

test("a pull consumer ends when its subscription is deleted, and on a push subscription", async () => {
  const id = unique("deleted");
  await client.createSubscription({ id, types: ["pr.deleted"] });
  const consumer = client.subscribe(id, () => {}, { transport: "poll", waitMs: 50, onError: () => {} });
  await pause(100);
  assert.equal(consumer.error, undefined);
  await client.deleteSubscription(id);
  await assert.rejects(consumer.done(), rejected(404));

  const push = unique("push");
  await client.createSubscription({ id: push, types: ["pr.push"], sink: `${herald.url}/nowhere` });
  const onPush = client.subscribe(push, () => {}, { transport: "poll", waitMs: 50, onError: () => {} });
  await assert.rejects(onPush.done(), rejected(409));
});

test("a pull consumer with a wrong API key ends with 401; a stopped consumer's done() resolves", async () => {
  const keys = [{ key: "good-key", scopes: ["publish" as const, "consume" as const, "admin" as const] }];
  const server = await startServer({ memory: true, port: 0, logLevel: "silent", apiKeys: keys });
  const good = new HeraldClient({ url: server.url, apiKey: "good-key" });
  const bad = new HeraldClient({ url: server.url, apiKey: "wrong-key" });
  try {
    await good.createSubscription({ id: "authed", types: ["a.e"] });
    const refused = bad.subscribe("authed", () => {}, { transport: "poll", waitMs: 50, onError: () => {} });
    await assert.rejects(refused.done(), rejected(401));
    const fine = good.subscribe("authed", () => {}, { transport: "poll", waitMs: 50 });
    await pause(100);
    await fine.stop();
    await fine.done();
    assert.equal(fine.error, undefined);
  } finally {
    await good.close();
    await bad.close();
    await server.close();
  }
});

for (const transport of ["poll", "sse", "ws"] as const) {
  test(`resetSubscription rewinds under a running ${transport} consumer; a dry run moves nothing`, async () => {
    const id = unique(`rewind-${transport}`);
    await client.createSubscription({ id, types: [`pr.rewind.${transport}`] });
    const seen: string[] = [];
    const consumer = client.subscribe(id, (event) => void seen.push(event.id), {
      transport,
      waitMs: 50,
      reconnect: { baseMs: 10, capMs: 50 },
    });
    const events = [
      ev(`pr.rewind.${transport}`, { n: 1 }),
      ev("pr.other"),
      ev(`pr.rewind.${transport}`, { n: 2 }),
    ];
    assert.ok((await client.sendBatch(events)).ok);
    await until(() => seen.length === 2, 5_000, "first delivery");
    await until(() => consumer.stats.handled === 2, 5_000, "handled");

    const dry = await client.resetSubscription(id, { to: "beginning", dryRun: true });
    assert.deepEqual(dry, { id, checkpoint: 0, redeliver: 2, dryRun: true });
    await pause(200);
    assert.equal(seen.length, 2);

    const done = await client.resetSubscription(id, { to: "beginning" });
    assert.equal(done.dryRun, false);
    assert.equal(done.redeliver, 2);
    await until(() => seen.length === 4, 5_000, "re-delivery");
    assert.deepEqual(seen, [events[0]!.id, events[2]!.id, events[0]!.id, events[2]!.id]);
    await consumer.stop();

    await assert.rejects(
      client.resetSubscription(id, { position: -1 }),
      (error: unknown) => error instanceof HeraldApiError && error.code === "reset-invalid",
    );
  });
}

test("ensureSubscription: same is fine (defaults and string config included), a difference throws, update replaces", async () => {
  const id = unique("ensure");
  const init = { id, types: ["pr.a", "pr.b"], config: { maxInFlight: 8 } };
  const created = await client.ensureSubscription(init);
  assert.equal(created.config?.maxInFlight, "8", "the server answers config values as strings");
  assert.deepEqual(subscriptionDifferences(init, created), []);
  // The same request again, types reordered and a default spelled out: no difference.
  const again = await client.ensureSubscription({
    id,
    types: ["pr.b", "pr.a"],
    config: { maxInFlight: "8", ordering: "key", ackTimeoutMs: 30_000 },
  });
  assert.deepEqual(again, created);

  const other = { id, filters: [{ prefix: { type: "pr." } }], config: { maxInFlight: 8, maxDeliveries: 3 } };
  await assert.rejects(client.ensureSubscription(other), (error: unknown) => {
    assert.ok(error instanceof SubscriptionMismatchError, String(error));
    assert.deepEqual(error.differences, ["types", "filters", "config.maxDeliveries"]);
    return true;
  });
  assert.deepEqual(await client.getSubscription(id), created, "an error changes nothing");
  assert.deepEqual(await client.ensureSubscription(other, { onDifference: "keep" }), created);

  const updated = await client.ensureSubscription(other, { onDifference: "update" });
  assert.deepEqual(updated.filters, other.filters);
  assert.equal(updated.types, undefined);
  assert.deepEqual(subscriptionDifferences(other, (await client.getSubscription(id))!), []);
  // Back to a default by leaving it out differs from a stored non-default.
  assert.deepEqual(
    subscriptionDifferences({ id, filters: other.filters, config: { maxInFlight: 8 } }, updated),
    ["config.maxDeliveries"],
  );
  // Queue mode is a compared setting; `stream` is the default.
  assert.deepEqual(
    subscriptionDifferences({ ...other, config: { ...other.config, retention: "queue" } }, updated),
    ["config.retention"],
  );
  assert.deepEqual(
    subscriptionDifferences({ ...other, config: { ...other.config, retention: "stream" } }, updated),
    [],
  );
});
