// Many subscriptions on one server: only the matching ones get events, idle progress is stored lazily
// (and all at once on stop), acked progress promptly.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryLog } from "@herald/log";
import pino from "pino";
import { Registry } from "prom-client";
import { CheckpointTracker } from "../src/subscriptions/checkpoints.js";
import { SubscriptionManager } from "../src/subscriptions/manager.js";
import { checkpointGroup } from "../src/subscriptions/store.js";
import { makeEvent } from "./support/harness.js";

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("checkpoint tracker", () => {
  it("stores settled progress at once and idle progress after idleMs", () => {
    const tracker = new CheckpointTracker(10, 0);
    assert.equal(tracker.due(10, 5, 1000), undefined, "unchanged");
    assert.equal(tracker.due(20, 5, 1000), "fresh", "idle progress, not yet worth a write");
    assert.equal(tracker.due(20, 1000, 1000), "stale");
    tracker.settled();
    assert.equal(tracker.due(25, 5, 1000), "urgent");
    tracker.stored(25, 6);
    assert.equal(tracker.due(30, 7, 1000), "fresh", "storing clears the settled mark");
    tracker.settled();
    assert.equal(tracker.due(25, 8, 1000), undefined, "an ack that did not move the checkpoint");
    assert.equal(tracker.due(30, 9, 1000), "fresh", "…does not make later idle progress urgent");
  });
});

describe("many subscriptions", () => {
  it("delivers to the matching one only; idle checkpoints wait, acked ones do not", async () => {
    const log = createMemoryLog();
    const manager = new SubscriptionManager({
      log,
      registry: new Registry(),
      logger: pino({ level: "silent" }),
      checkpointIntervalMs: 10,
      checkpointPolicy: { idleMs: 60_000 },
    });
    await manager.start();
    try {
      for (let i = 0; i < 200; i++) await manager.create({ id: `idle-${i}`, types: [`none.${i}`] });
      await manager.create({ id: "hot", types: ["hot.thing"], config: { ordering: "none" } });
      const results = await log.append(Array.from({ length: 20 }, () => makeEvent({ type: "hot.thing" })));
      const head = results.at(-1)!.position;
      const messages = [];
      for (let round = 0; round < 50 && messages.length < 20; round++)
        messages.push(...(await manager.pull("hot", 100, 200)));
      assert.deepEqual(
        messages.map((m) => m.position),
        results.map((r) => r.position),
      );
      assert.deepEqual(
        manager.ack(
          "hot",
          messages.map((m) => m.ackId),
        ),
        { done: 20, unknown: [] },
      );
      for (let i = 0; i < 200; i += 50) {
        const stats = await manager.stats(`idle-${i}`);
        assert.equal(stats.buffered, 0);
        assert.equal(stats.checkpoint, head, "in memory, an idle subscription is at the head");
      }
      await wait(100);
      assert.equal(await log.checkpoints.load(checkpointGroup("hot")), head, "acked progress is stored");
      assert.equal(await log.checkpoints.load(checkpointGroup("idle-7")), 0, "idle progress is not yet");
    } finally {
      await manager.stop();
    }
    assert.equal(await log.checkpoints.load(checkpointGroup("idle-7")), 20, "stop stores every checkpoint");
    assert.equal(await log.checkpoints.load(checkpointGroup("idle-199")), 20);
  });
});
