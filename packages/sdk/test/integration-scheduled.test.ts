// HeraldClient's scheduled delivery against a real `herald serve` (in-process): send with `deliverat`
// answers scheduled, listScheduled pages the pending ones, cancelScheduled says cancelled / released /
// unknown, and a scheduled event reaches the log when its time comes.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CloudEvent, DELIVERAT } from "@herald/cloudevents";
import { HeraldClient, type ScheduledEntry } from "@herald/sdk";
import { startHerald } from "./support/herald.js";

let herald: Awaited<ReturnType<typeof startHerald>>;
let client: HeraldClient;
before(async () => {
  herald = await startHerald();
  client = new HeraldClient({ url: herald.url, retry: false });
});
after(async () => {
  await client.close();
  await herald.close();
});

const at = (ms: number) => new Date(Date.now() + ms).toISOString();

test("schedules, lists, cancels, and delivers at the time", async () => {
  const later = [0, 1, 2].map(
    (n) =>
      new CloudEvent({ source: "/sdk-sched", type: "sdk.timer", subject: "t", [DELIVERAT]: at(60_000 + n) }),
  );
  for (const event of later) {
    const sent = await client.send(event);
    assert.equal(sent.kind, "ack");
    if (sent.kind !== "ack") return;
    assert.deepEqual([sent.scheduled, sent.position, typeof sent.deliverAt], [true, 0, "string"]);
  }
  const page = await client.listScheduled({ limit: 2 });
  assert.deepEqual(
    page.scheduled.map((entry) => entry.id),
    [later[0]!.id, later[1]!.id],
  );
  const all: ScheduledEntry[] = [];
  for await (const entry of client.scheduledEvents({ pageSize: 1 })) all.push(entry);
  assert.deepEqual(
    all.map((entry) => entry.id),
    later.map((event) => event.id),
  );
  assert.equal(await client.cancelScheduled({ source: "/sdk-sched", id: later[1]!.id }), "cancelled");
  assert.equal(await client.cancelScheduled({ source: "/sdk-sched", id: later[1]!.id }), "unknown");

  const soon = new CloudEvent({
    source: "/sdk-sched",
    type: "sdk.timer",
    subject: "soon",
    [DELIVERAT]: at(200),
  });
  await client.send(soon);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const page = await client.readEvents({ after: 0 });
    if (page.events.some((entry) => entry.event.id === soon.id)) break;
    assert.ok(Date.now() < deadline, "the scheduled event never reached the log");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(await client.cancelScheduled({ source: "/sdk-sched", id: soon.id }), "released");
});
