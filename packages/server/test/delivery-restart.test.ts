// Restart and resume on a SQLite log: acked progress survives, nothing above the checkpoint is
// skipped (at-least-once), pending redrives survive too.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ack, createSubscription, pull } from "./support/consumer.js";
import { api, makeEvent, openSqlite, startHarness, tempSqlitePath, waitFor } from "./support/harness.js";
import { startSink } from "./support/sink.js";

describe("restart and resume", () => {
  const temp = tempSqlitePath();
  after(() => temp.dispose());

  it("resumes pull delivery from the stored checkpoint without skipping", async () => {
    let h = await startHarness({ log: await openSqlite(temp.path) });
    await createSubscription(h.url, { id: "resume", types: ["r.thing"], config: { ordering: "none" } });
    const sent = Array.from({ length: 10 }, () => makeEvent({ type: "r.thing" }));
    const results = await h.log.append(sent);
    const positions = results.map((r) => r.position);
    const first = await pull(h.url, "resume", 10, 1000);
    assert.equal(first.length, 10);
    // Ack 1..5 and 7: the low-water mark is 5; 6 and 8..10 are unacked.
    await ack(
      h.url,
      "resume",
      first.filter((m) => m.position <= positions[4]! || m.position === positions[6]),
    );
    await h.close({ closeLog: true, drainMs: 0 });

    h = await startHarness({ log: await openSqlite(temp.path) });
    const listed = (await api(h.url, "GET", "/subscriptions")).body as Array<{ id: string }>;
    assert.deepEqual(
      listed.map((s) => s.id),
      ["resume"],
    );
    const again = await pull(h.url, "resume", 10, 1000);
    const redelivered = again.map((m) => m.position).sort((a, b) => a - b);
    // Everything above the checkpoint comes again (7 too: at-least-once); nothing ≤ 5 does.
    assert.deepEqual(redelivered, positions.slice(5));
    assert.ok(again.every((m) => m.deliveryCount === 1));
    await ack(h.url, "resume", again);
    await h.close({ closeLog: true, drainMs: 0 });

    h = await startHarness({ log: await openSqlite(temp.path) });
    assert.deepEqual(await pull(h.url, "resume", 10, 200), []);
    await h.close({ closeLog: true, drainMs: 0 });
  });

  it("resumes push delivery and pending redrives after a restart", async () => {
    const target = await startSink((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    try {
      let h = await startHarness({ log: await openSqlite(temp.path) });
      await createSubscription(h.url, {
        id: "push-resume",
        sink: target.url,
        types: ["pr.thing"],
        config: { maxDeliveries: 2, backoff: { baseMs: 1, capMs: 30_000 } },
      });
      const sent = makeEvent({ type: "pr.thing" });
      await h.log.append([sent]);
      await waitFor(async () => {
        const r = await api(h.url, "GET", "/subscriptions/push-resume/dead-letters");
        return (r.body as { deadLetters: unknown[] }).deadLetters.length > 0 ? true : undefined;
      });
      // Redrive while the sink still fails, then restart before it succeeds.
      target.respond = (_req, res) => {
        res.writeHead(503, { "retry-after": "30" });
        res.end();
      };
      const redrive = await api(h.url, "POST", "/subscriptions/push-resume/dead-letters/redrive", {});
      assert.deepEqual(redrive.body, { count: 1, dryRun: false });
      await h.close({ closeLog: true, drainMs: 0 });

      const received = target.received.length;
      target.respond = (_req, res) => {
        res.writeHead(204);
        res.end();
      };
      h = await startHarness({ log: await openSqlite(temp.path) });
      await waitFor(async () => {
        const stats = (await api(h.url, "GET", "/subscriptions/push-resume/stats")).body as Record<
          string,
          number
        >;
        return stats.delivered === 1 && stats.redrivePending === 0 ? true : undefined;
      });
      assert.equal(target.received.at(-1)!.headers["ce-id"], sent.id);
      assert.ok(target.received.length > received);
      await h.close({ closeLog: true, drainMs: 0 });
    } finally {
      await target.close();
    }
  });
});

describe("graceful stop", () => {
  it("drains an in-flight push and stores its checkpoint before stopping", async () => {
    const target = await startSink(async (_req, res) => {
      await new Promise((r) => setTimeout(r, 200));
      res.writeHead(204);
      res.end();
    });
    try {
      let h = await startHarness();
      const log = h.log;
      await createSubscription(h.url, { id: "drain", sink: target.url, types: ["drain.thing"] });
      const [stored] = await log.append([makeEvent({ type: "drain.thing" })]);
      await waitFor(() => (target.received.length > 0 ? true : undefined));
      const started = Date.now();
      await h.close({ drainMs: 5_000 });
      assert.ok(Date.now() - started >= 100, "stop did not wait for the in-flight push");
      assert.equal(await log.checkpoints.load("subscription/drain"), stored!.position);
      h = await startHarness({ log });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(target.received.length, 1, "an acked push was delivered again");
      await h.close({ closeLog: true });
    } finally {
      await target.close();
    }
  });
});
