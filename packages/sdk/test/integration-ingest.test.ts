// The client against a real `herald serve` (in-process and child process): what a send result says
// must be what the broker did.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { HeraldClient } from "@herald/sdk";
import { type RunningHerald, startHerald, startHeraldProcess } from "./support/herald.js";

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

const order = (n: number, extra: Record<string, unknown> = {}) =>
  new CloudEvent({ source: "/shop", type: "order.placed", subject: `order-${n}`, data: { n }, ...extra });

test("ack carries the position the log gave; the event is readable there", async () => {
  const e = order(1);
  const result = await client.send(e);
  assert.ok(result.ok);
  assert.equal(result.duplicate, false);
  assert.equal(result.stream, "order-1", "stream derived from subject");
  const page = await herald.server.log.read({ after: result.position - 1, limit: 1 });
  assert.equal(page.events[0]!.event.id, e.id);
});

test("re-sending the same source+id is acknowledged as a duplicate with the first position", async () => {
  const e = order(2);
  const first = await client.send(e);
  const second = await client.send(e);
  assert.ok(first.ok && second.ok);
  assert.equal(second.duplicate, true);
  assert.equal(second.position, first.position);
});

test("a batch is atomic and answers one position per event, in order", async () => {
  const events = [order(3), order(4), order(5)];
  const result = await client.sendBatch(events);
  assert.ok(result.ok);
  assert.deepEqual(
    result.results.map((r) => r.id),
    events.map((e) => e.id),
  );
  const positions = result.results.map((r) => r.position);
  assert.deepEqual(
    positions,
    [...positions].sort((a, b) => a - b),
  );
});

test("an expected-version conflict is a nack with the broker's problem details", async () => {
  const ok = await client.send(order(6), { stream: "cart-1", expectedVersion: "no-stream" });
  assert.ok(ok.ok);
  assert.equal(ok.version, 0);
  const conflict = await client.send(order(7), { stream: "cart-1", expectedVersion: "no-stream" });
  assert.ok(conflict.kind === "nack");
  assert.equal(conflict.status, 409);
  assert.equal(conflict.attempts, 1, "a refusal is final, not retried");
  assert.equal(typeof conflict.problem.title, "string");
});

test("a broker in another process: ack while up, undelivered once it is gone", async () => {
  let child: RunningHerald | undefined = await startHeraldProcess();
  try {
    const remote = new HeraldClient({
      url: child.url,
      retry: { attempts: 2, baseMs: 5, capMs: 10 },
      timeoutMs: 2_000,
    });
    const up = await remote.send(order(8));
    assert.ok(up.ok);
    assert.equal(up.position, 1);
    await child.close();
    child = undefined;
    const down = await remote.send(order(9));
    assert.equal(down.kind, "undelivered");
    assert.equal(down.attempts, 2);
    await remote.close();
  } finally {
    await child?.close();
  }
});

test("API keys: accepted with the right scope, refused as a nack (401/403) otherwise", async () => {
  const { startServer } = await import("@herald/server");
  const secured = await startServer({
    port: 0,
    memory: true,
    logLevel: "silent",
    apiKeys: [{ key: "pub-orders", scopes: ["publish"], typePrefixes: ["order."] }],
  });
  const allowed = new HeraldClient({ url: secured.url, apiKey: "pub-orders" });
  const anonymous = new HeraldClient({ url: secured.url });
  try {
    assert.equal((await allowed.send(order(10))).kind, "ack");
    const wrongType = await allowed.send(new CloudEvent({ source: "/shop", type: "payment.received" }));
    assert.ok(wrongType.kind === "nack");
    assert.equal(wrongType.status, 403);
    const noKey = await anonymous.send(order(11));
    assert.ok(noKey.kind === "nack");
    assert.equal(noKey.status, 401);
  } finally {
    await allowed.close();
    await anonymous.close();
    await secured.close();
  }
});
