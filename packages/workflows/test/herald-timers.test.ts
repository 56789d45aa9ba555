// heraldTimers against herald serve's scheduled delivery (the `deliverat` extension, cancelled with
// DELETE /scheduled). A broker that delivered early would still not fire a timer early: the process
// manager nacks it until due (process-manager.test.ts).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CloudEvent, DELIVERAT } from "@herald/cloudevents";
import { HeraldClient } from "@herald/sdk";
import { type HeraldServer, startServer } from "@herald/server";
import { heraldTimers, TIMER_EVENT_TYPE } from "@herald/workflows";

let server: HeraldServer;
let client: HeraldClient;
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
    [DELIVERAT]: new Date(Date.now() + 60_000).toISOString(),
  });
  assert.equal(sent.kind, "ack");
  assert.equal((await client.pull(sub, { waitMs: 500 })).length, 0, "deliverat holds the event back");
});
after(async () => {
  await client?.close();
  await server?.close();
});

test("a scheduled timer is stored at once and delivered not before it is due", async () => {
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

test("scheduling the same timer twice fires it once; a cancelled timer never fires", async () => {
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
