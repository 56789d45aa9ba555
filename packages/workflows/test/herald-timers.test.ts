// heraldTimers against herald serve's scheduled delivery (the `deliverat` extension, cancelled with
// DELETE /scheduled). The server is probed first: one that delivers a deliverat event at once does not
// implement scheduled delivery, and these tests are skipped with that reason (the process manager
// still never handles a timer early: it nacks it until due, see process-manager.test.ts).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { HeraldClient } from "@herald/sdk";
import { type HeraldServer, startServer } from "@herald/server";
import { DELIVER_AT_EXTENSION, heraldTimers, TIMER_EVENT_TYPE } from "@herald/workflows";

const NEEDS = "needs scheduled delivery (branch scheduled)";
let server: HeraldServer;
let client: HeraldClient;
let honoured = false;
let subscriptions = 0;

async function subscription(): Promise<string> {
  const id = `timers-${++subscriptions}`;
  await client.createSubscription({ id, types: [`probe.${id}`, TIMER_EVENT_TYPE], config: { start: "now" } });
  return id;
}

const timer = (id: string, sub: string) =>
  new CloudEvent({
    source: `urn:test:${sub}`,
    id,
    type: TIMER_EVENT_TYPE,
    partitionkey: `t-${sub}-${id}`,
    data: {},
  });

before(async () => {
  server = await startServer({ memory: true, port: 0, logLevel: "silent" });
  client = new HeraldClient({ url: server.url });
  const sub = await subscription();
  const sent = await client.send({
    source: "urn:test:probe",
    type: `probe.${sub}`,
    [DELIVER_AT_EXTENSION]: new Date(Date.now() + 60_000).toISOString(),
  });
  assert.equal(sent.kind, "ack");
  honoured = (await client.pull(sub, { waitMs: 500 })).length === 0;
});
after(async () => {
  await client?.close();
  await server?.close();
});

test("a scheduled timer is stored at once and delivered not before it is due", async (t) => {
  if (!honoured) return t.skip(NEEDS);
  const sub = await subscription();
  const at = new Date(Date.now() + 1_500);
  await heraldTimers(client).schedule(timer("t1", sub), at);
  // Stored at once, as a pending scheduled event (GET /scheduled).
  const pending = (await (await fetch(`${server.url}/scheduled`)).json()) as { scheduled?: { id: string }[] };
  assert.ok(
    pending.scheduled?.some((e) => e.id === "t1"),
    "listed as scheduled",
  );
  for (;;) {
    const messages = await client.pull(sub, { waitMs: 1_000 });
    if (messages.length === 0) continue;
    assert.ok(Date.now() >= at.getTime(), "not delivered before deliverat");
    assert.deepEqual(
      messages.map((m) => m.event.id),
      ["t1"],
    );
    await client.ack(
      sub,
      messages.map((m) => m.ackId),
    );
    break;
  }
});

test("scheduling the same timer twice fires it once; a cancelled timer never fires", async (t) => {
  if (!honoured) return t.skip(NEEDS);
  const sub = await subscription();
  const timers = heraldTimers(client);
  const at = new Date(Date.now() + 1_000);
  await timers.schedule(timer("twice", sub), at);
  await timers.schedule(timer("twice", sub), at);
  await timers.schedule(timer("cancelled", sub), at);
  await timers.cancel({ source: `urn:test:${sub}`, id: "cancelled" });
  const seen: string[] = [];
  const until = at.getTime() + 2_000;
  while (Date.now() < until) {
    const messages = await client.pull(sub, { waitMs: 500 });
    seen.push(...messages.map((m) => m.event.id));
    if (messages.length > 0)
      await client.ack(
        sub,
        messages.map((m) => m.ackId),
      );
  }
  assert.deepEqual(seen, ["twice"]);
});
