// The process manager with its instance streams in herald serve (heraldStore): two managers racing
// the start and the reply of each instance over HTTP, where a lost race is a 409 from the server.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { heraldStore } from "@herald/eventsourcing";
import { HeraldClient } from "@herald/sdk";
import { startServer } from "@herald/server";
import { type ProcessDefinition, ProcessManager } from "@herald/workflows";
import { TestClock } from "@herald/workflows/testing";

const pair: ProcessDefinition<{ got: string[] }, { "pair.start": unknown; "pair.reply": unknown }> = {
  name: "pair",
  initialState: () => ({ got: [] }),
  final: ["done"],
  on: {
    "pair.start": (i) =>
      i.status === "new"
        ? { status: "waiting", state: { got: ["start"] }, emit: [{ type: "pair.asked" }] }
        : {},
    "pair.reply": (i) =>
      i.status === "waiting" ? { status: "done", state: { got: [...i.state.got, "reply"] } } : undefined,
  },
};

test("two managers on herald serve race start and reply of 20 instances: each ends done, started once", {
  timeout: 60_000,
}, async () => {
  const server = await startServer({ memory: true, port: 0, logLevel: "silent" });
  const client = new HeraldClient({ url: server.url });
  const clock = new TestClock();
  const published: CloudEvent[] = [];
  const manager = () =>
    new ProcessManager({
      definition: pair,
      store: heraldStore(client),
      publish: async (events) => {
        published.push(...events);
      },
      timers: clock,
      clock,
      maxRetries: 50,
    });
  const [a, b] = [manager(), manager()];
  try {
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const start = new CloudEvent({
          source: "urn:t",
          type: "pair.start",
          id: `s${i}`,
          correlationid: `k${i}`,
        });
        const reply = new CloudEvent({
          source: "urn:t",
          type: "pair.reply",
          id: `r${i}`,
          correlationid: `k${i}`,
        });
        // Even instances: the reply is handed over first.
        return i % 2 === 0
          ? Promise.all([a.handleEvent(reply), b.handleEvent(start)])
          : Promise.all([a.handleEvent(start), b.handleEvent(reply)]);
      }),
    );
    for (let i = 0; i < 20; i++) {
      const instance = await a.instance(`k${i}`);
      assert.equal(instance?.status, "done", `k${i} (${outcomes[i]!.join(", ")})`);
      assert.deepEqual(instance?.state, { got: ["start", "reply"] });
      assert.equal(instance?.undispatched, 0);
    }
    assert.equal(new Set(published.map((e) => e.id)).size, 20, "one pair.asked per instance");
    // And without a race: the reply first is parked in a stream that did not exist, then applied.
    const reply = new CloudEvent({
      source: "urn:t",
      type: "pair.reply",
      id: "r-late",
      correlationid: "late",
    });
    assert.equal(await b.handleEvent(reply), "parked");
    const start = new CloudEvent({
      source: "urn:t",
      type: "pair.start",
      id: "s-late",
      correlationid: "late",
    });
    assert.equal(await a.handleEvent(start), "stepped");
    assert.equal((await b.instance("late"))?.status, "done");
  } finally {
    await client.close();
    await server.close();
  }
});
