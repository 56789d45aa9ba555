// Cancelling in-flight pushes: the PushCancel handle itself, and a stop whose drain time runs out
// while the sink hangs (the attempt is aborted, the event is not counted as delivered).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PushCancel } from "../src/subscriptions/push-cancel.js";
import { createSubscription } from "./support/consumer.js";
import { makeEvent, startHarness, waitFor } from "./support/harness.js";
import { startSink } from "./support/sink.js";

describe("PushCancel", () => {
  it("runs the listener once on abort, and at once when already aborted", () => {
    const cancel = new PushCancel();
    let calls = 0;
    cancel.onAbort(() => calls++);
    assert.equal(cancel.aborted, false);
    cancel.abort();
    cancel.abort();
    assert.equal(calls, 1);
    assert.equal(cancel.aborted, true);
    cancel.onAbort(() => calls++);
    assert.equal(calls, 2);
  });

  it("forgets the listener once the attempt settled", () => {
    const cancel = new PushCancel();
    let calls = 0;
    cancel.onAbort(() => calls++);
    cancel.clear();
    cancel.abort();
    assert.equal(calls, 0);
  });
});

describe("stop with a hanging sink", () => {
  it("aborts the in-flight push after the drain time and leaves the event undelivered", async () => {
    const target = await startSink(() => new Promise<void>(() => {})); // never answers
    try {
      const h = await startHarness();
      await createSubscription(h.url, { id: "hang", sink: target.url, types: ["hang.thing"] });
      const [stored] = await h.log.append([makeEvent({ type: "hang.thing" })]);
      await waitFor(() => (target.received.length > 0 ? true : undefined));
      const started = Date.now();
      await h.close({ drainMs: 100 });
      const took = Date.now() - started;
      // The push timeout is 10 s: only the abort ends the attempt this early.
      assert.ok(took < 3000, `stop took ${took} ms`);
      assert.ok(took >= 90, `stop did not wait for the drain time (${took} ms)`);
      const checkpoint = (await h.log.checkpoints.load("subscription/hang")) ?? 0;
      assert.ok(checkpoint < stored!.position, "the aborted push was counted as delivered");
      await h.log.close();
    } finally {
      await target.close();
    }
  });
});
