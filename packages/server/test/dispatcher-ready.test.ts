// Handing out under ordering "none" uses an index of ready entries instead of walking the window:
// these pin down that it hands out exactly what the walk did — oldest first, retries back in their
// place, never a leased entry twice, and what frees up under maxInFlight.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ack, createSubscription, pull } from "./support/consumer.js";
import { api, makeEvent, startHarness } from "./support/harness.js";

describe("ready index (ordering none)", async () => {
  const h = await startHarness();
  after(() => h.close());

  it("hands out oldest first and puts a nacked entry back before newer ones", async () => {
    await createSubscription(h.url, { id: "ri", types: ["ri.thing"], config: { ordering: "none" } });
    const results = await h.log.append(Array.from({ length: 6 }, () => makeEvent({ type: "ri.thing" })));
    const positions = results.map((r) => r.position);
    const first = await pull(h.url, "ri", 3, 1000);
    assert.deepEqual(
      first.map((m) => m.position),
      positions.slice(0, 3),
    );
    // Nack the middle one (no delay): it is older than the three never handed out.
    const res = await api(h.url, "POST", "/subscriptions/ri/nack", { ackIds: [first[1]!.ackId], delayMs: 0 });
    assert.deepEqual(res.body, { nacked: 1, unknown: [] });
    const second = await pull(h.url, "ri", 10, 1000);
    assert.deepEqual(
      second.map((m) => m.position),
      [positions[1], ...positions.slice(3)],
    );
    assert.equal(second[0]!.deliveryCount, 2);
    // Everything is leased now: nothing is handed out twice.
    assert.deepEqual(await pull(h.url, "ri", 10, 0), []);
    await ack(h.url, "ri", [first[0]!, first[2]!, ...second]);
  });

  it("hands out newer entries as acks free room under maxInFlight", async () => {
    await createSubscription(h.url, {
      id: "rm",
      types: ["rm.thing"],
      config: { ordering: "none", maxInFlight: 2 },
    });
    const results = await h.log.append(Array.from({ length: 5 }, () => makeEvent({ type: "rm.thing" })));
    const positions = results.map((r) => r.position);
    const seen: number[] = [];
    for (let round = 0; round < 3; round++) {
      const messages = await pull(h.url, "rm", 10, 1000);
      assert.ok(messages.length <= 2, `maxInFlight exceeded: ${messages.length}`);
      seen.push(...messages.map((m) => m.position));
      await ack(h.url, "rm", messages);
    }
    assert.deepEqual(seen, positions);
  });
});
