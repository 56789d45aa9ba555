// Cluster mode (storage `postgres`), three instances over one schema: a redrive asked of any
// instance is applied by the instances holding the dead letters' partitions, never twice, and never
// moves the live checkpoint; a reset asked of any instance moves every partition, on every instance.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HeraldServer } from "@herald/server";
import { ack, createSubscription, type PulledMessage, pull } from "./support/consumer.js";
import { api } from "./support/harness.js";
import { eventually, owned, publish, startNode } from "./support/cluster.js";
import { freshSchema, needsPostgres } from "./support/pg.js";
import { startSink } from "./support/sink.js";

async function spread(nodes: readonly HeraldServer[], id: string): Promise<void> {
  await eventually("partitions spread over every instance", async () => {
    const all = await Promise.all(nodes.map((n) => owned(n.url, id)));
    return all.every((o) => o.length === 2) ? true : undefined;
  });
}

async function stats(node: HeraldServer, id: string): Promise<{ delivered: number; deadLettered: number }> {
  const res = await api(node.url, "GET", `/subscriptions/${id}/stats`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as { delivered: number; deadLettered: number };
}

const STREAMS = Array.from({ length: 12 }, (_, i) => `job-${i}`);

describe("cluster: redrive and reset across instances", { ...needsPostgres, timeout: 120_000 }, () => {
  it("redrive: any instance takes it, the partitions' holders deliver it once, the checkpoint stays", async () => {
    const schema = freshSchema();
    let rejecting = true;
    const sink = await startSink((_req, res) => {
      res.writeHead(rejecting ? 400 : 204);
      res.end();
    });
    const nodes = await Promise.all(["a", "b", "c"].map((n) => startNode(schema, `node-${n}`, 6)));
    const [a, b, c] = nodes as [HeraldServer, HeraldServer, HeraldServer];
    try {
      await createSubscription(b.url, { id: "pay", sink: sink.url, config: { ordering: "key" } });
      await spread(nodes, "pay");
      for (let n = 1; n <= 2; n++) await Promise.all(STREAMS.map((s, i) => publish(nodes[i % 3]!.url, s, n)));
      // A 400 is not retried: every event is dead-lettered, by the instance of its partition.
      await eventually("24 dead letters", async () => {
        const res = await api(c.url, "GET", "/subscriptions/pay/dead-letters?limit=100");
        return (res.body as { deadLetters: unknown[] }).deadLetters.length === 24 ? true : undefined;
      });
      const before = (await Promise.all(nodes.map((n) => stats(n, "pay")))).map((s) => s.deadLettered);
      assert.ok(before.filter((n) => n > 0).length >= 2, `dead-lettered per node: ${before}`);
      rejecting = false;
      const pushedBefore = sink.received.length;

      const dry = await api(a.url, "POST", "/subscriptions/pay/dead-letters/redrive", { dryRun: true });
      assert.deepEqual(dry.body, { count: 24, dryRun: true });
      const redrive = await api(a.url, "POST", "/subscriptions/pay/dead-letters/redrive", {});
      assert.equal(redrive.status, 200, JSON.stringify(redrive.body));
      assert.deepEqual(redrive.body, { count: 24, dryRun: false });
      const pushedIds = () => sink.received.slice(pushedBefore).map((r) => String(r.headers["ce-id"]));
      await eventually("every dead letter pushed again", async () =>
        new Set(pushedIds()).size === 24 ? true : undefined,
      );
      // Each instance delivered the redriven entries of its own partitions.
      const delivered = (await Promise.all(nodes.map((n) => stats(n, "pay")))).map((s) => s.delivered);
      assert.ok(delivered.filter((n) => n > 0).length >= 2, `redriven deliveries per node: ${delivered}`);
      // Already redriven, on any instance: nothing to queue again.
      const again = await api(c.url, "POST", "/subscriptions/pay/dead-letters/redrive", { dryRun: true });
      assert.deepEqual(again.body, { count: 0, dryRun: true });
      // The live checkpoint did not move back: a new event is pushed, and no old one again.
      await publish(b.url, "job-0", 3);
      await eventually("the new event pushed", async () =>
        pushedIds().includes("job-0-3") ? true : undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const ids = pushedIds();
      assert.equal(ids.length, 25, `pushed once each: ${ids.join(" ")}`);
      assert.equal(new Set(ids).size, 25);
      const pending = await Promise.all(nodes.map((n) => api(n.url, "GET", "/subscriptions/pay/stats")));
      for (const res of pending) assert.equal((res.body as { redrivePending: number }).redrivePending, 0);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
      await sink.close();
    }
  });

  it("reset: asked of one instance, every partition on every instance moves (beginning, then now)", async () => {
    const schema = freshSchema();
    const nodes = await Promise.all(["a", "b", "c"].map((n) => startNode(schema, `node-${n}`, 6)));
    const [a, b, c] = nodes as [HeraldServer, HeraldServer, HeraldServer];
    const seen: string[] = [];
    let stop = false;
    const consume = async (node: HeraldServer) => {
      while (!stop) {
        const messages: PulledMessage[] = await pull(node.url, "jobs", 20, 200);
        seen.push(...messages.map((m) => m.event.id));
        if (messages.length > 0) await ack(node.url, "jobs", messages);
      }
    };
    let consumers: Array<Promise<void>> = [];
    try {
      await createSubscription(a.url, { id: "jobs", config: { ordering: "key", ackTimeoutMs: 10_000 } });
      await eventually("every instance knows it", async () =>
        (await Promise.all(nodes.map((n) => api(n.url, "GET", "/subscriptions/jobs")))).every(
          (r) => r.status === 200,
        )
          ? true
          : undefined,
      );
      consumers = nodes.map((n) => consume(n));
      await spread(nodes, "jobs");
      for (let n = 1; n <= 3; n++) await Promise.all(STREAMS.map((s, i) => publish(nodes[i % 3]!.url, s, n)));
      const all = STREAMS.flatMap((s) => [1, 2, 3].map((n) => `${s}-${n}`)).sort();
      await eventually("every event consumed", async () => (new Set(seen).size === 36 ? true : undefined));

      // Reset to the beginning on B: every partition, wherever it is held, starts again.
      const first = seen.length;
      const reset = await api(b.url, "POST", "/subscriptions/jobs/reset", { to: "beginning" });
      assert.equal(reset.status, 200, JSON.stringify(reset.body));
      assert.equal((reset.body as { redeliver: number }).redeliver, 36);
      await eventually("every event delivered again", async () =>
        [...new Set(seen.slice(first))].sort().join() === all.join() ? true : undefined,
      );
      await spread(nodes, "jobs");

      // Reset to now on C, then new events only: nothing before the reset comes again.
      const reset2 = await api(c.url, "POST", "/subscriptions/jobs/reset", { to: "now" });
      assert.equal(reset2.status, 200, JSON.stringify(reset2.body));
      await spread(nodes, "jobs");
      const second = seen.length;
      await Promise.all(STREAMS.map((s, i) => publish(nodes[i % 3]!.url, s, 4)));
      await eventually("the new events delivered", async () =>
        new Set(seen.slice(second).filter((id) => id.endsWith("-4"))).size === 12 ? true : undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const after = seen.slice(second);
      assert.deepEqual(
        after.filter((id) => !id.endsWith("-4")),
        [],
        "no event from before the reset to now",
      );
      // Every partition's checkpoint was stored past the reset: a restart redelivers nothing.
      stop = true;
      await Promise.all(consumers);
      consumers = [];
      await Promise.all(nodes.splice(0).map((n) => n.close()));
      const restarted = await Promise.all(["d", "e"].map((n) => startNode(schema, `node-${n}`, 6)));
      nodes.push(...restarted);
      const pulls = restarted.map((n) => pull(n.url, "jobs", 100, 200));
      await eventually("partitions spread over the restarted instances", async () => {
        const held = await Promise.all(restarted.map((n) => owned(n.url, "jobs")));
        return held.every((o) => o.length === 3) ? true : undefined;
      });
      await Promise.all(pulls);
      const late = (await Promise.all(restarted.map((n) => pull(n.url, "jobs", 100, 1_000)))).flat();
      assert.deepEqual(
        late.map((m) => m.event.id),
        [],
      );
    } finally {
      stop = true;
      await Promise.all(consumers);
      await Promise.all(nodes.map((n) => n.close()));
    }
  });
});
