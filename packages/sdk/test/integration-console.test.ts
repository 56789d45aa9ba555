// The client's methods for the console's queries, against a real `herald serve`: lineage,
// correlation pages, every subscription's stats, the delivery ledger and the health series.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { HeraldApiError, HeraldClient } from "@herald/sdk";
import { startHerald } from "./support/herald.js";

/** Polls `check` until it answers a value (at most 5 s). */
async function until<T>(check: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + 5_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error("condition not reached within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

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

test("lineage and correlation of a causation chain", async () => {
  const ev = (id: string, extra: Record<string, string> = {}) =>
    new CloudEvent({ id, source: "/sdk-console", type: "chain.step", ...extra });
  await client.sendBatch([
    ev("c-root"),
    ev("c-1", { causationid: "c-root", correlationid: "c-root" }),
    ev("c-2", { causationid: "c-1", correlationid: "c-root" }),
  ]);
  const lineage = await client.lineage({ source: "/sdk-console", id: "c-2" });
  assert.deepEqual(
    lineage.causes.map((c) => [c.event.id, c.depth]),
    [
      ["c-1", 1],
      ["c-root", 2],
    ],
  );
  const root = await client.lineage({ position: lineage.causes[1]!.position, depth: 5 });
  assert.deepEqual(
    root.effects.map((e) => [e.event.id, e.causedBy]),
    [
      ["c-1", root.event.position],
      ["c-2", lineage.causes[0]!.position],
    ],
  );
  const page = await client.correlation("c-root", { limit: 1 });
  assert.deepEqual(
    page.events.map((e) => e.event.id),
    ["c-1"],
  );
  const rest = await client.correlation("c-root", { after: page.next });
  assert.deepEqual(
    rest.events.map((e) => e.event.id),
    ["c-2"],
  );
  await assert.rejects(
    client.lineage({ source: "/sdk-console", id: "nobody" }),
    (error: unknown) => error instanceof HeraldApiError && error.status === 404,
  );
});

test("subscriptions' stats, the delivery ledger and the health series", async () => {
  const id = `console-${process.pid}`;
  await client.createSubscription({ id, types: ["ledger.step"] });
  await client.send(new CloudEvent({ source: "/sdk-console", type: "ledger.step" }));
  const [message] = await until(async () => {
    const messages = await client.pull(id, { max: 1, waitMs: 1000 });
    return messages.length > 0 ? messages : undefined;
  });
  await client.nack(id, [message!.ackId]);
  const ledger = await until(async () => {
    const answer = await client.deliveries(id);
    return answer.deliveries.length > 0 ? answer : undefined;
  });
  assert.equal(ledger.deliveries[0]!.outcome, "nacked");
  assert.equal(ledger.capacity, 1000);
  const all = await client.subscriptionsStats();
  const mine = all.find((s) => s.id === id);
  assert.equal(mine?.lag, 1);
  assert.equal(typeof mine?.lagSeconds, "number");
  const series = await client.statsSeries({ minutes: 1 });
  assert.equal(series.points.length, 12);
  assert.ok(series.points.reduce((sum, p) => sum + p.ingested, 0) >= 1);
  assert.equal(series.server.version.length > 0, true);
});
