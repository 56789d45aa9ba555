// Cluster mode (storage `postgres`): two instances in this process over one schema are one broker.
// Resources made on one are served by the other; a subscription's partitions are leased out so both
// deliver part of it, per-stream order holds, and one that leaves hands its partitions over.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HeraldServer } from "@herald/server";
import { ack, createSubscription, type PulledMessage, pull } from "./support/consumer.js";
import { api } from "./support/harness.js";
import { eventually, owned, publish, startNode } from "./support/cluster.js";
import { freshSchema, needsPostgres } from "./support/pg.js";
import { startSink } from "./support/sink.js";

/** Every stream's versions, first deliveries only, must come in order. */
function assertStreamOrder(deliveries: ReadonlyArray<{ stream: string; version: number }>): void {
  const next = new Map<string, number>();
  for (const { stream, version } of deliveries) {
    const expected = next.get(stream) ?? 1;
    if (version < expected) continue; // a redelivery
    assert.equal(version, expected, `${stream}: version ${version} delivered before ${expected}`);
    next.set(stream, version + 1);
  }
}

describe("cluster over one PostgreSQL schema", needsPostgres, () => {
  it("shares a pull subscription: both instances deliver part of it, per-stream order holds", async () => {
    const schema = freshSchema();
    const [a, b] = await Promise.all([startNode(schema, "node-a"), startNode(schema, "node-b")]);
    try {
      await createSubscription(a.url, { id: "jobs", config: { ordering: "key", ackTimeoutMs: 10_000 } });
      // Created on A, known to B.
      await eventually("B to know the subscription", async () =>
        (await api(b.url, "GET", "/subscriptions/jobs")).status === 200 ? true : undefined,
      );
      const streams = Array.from({ length: 12 }, (_, i) => `job-${i}`);
      const perStream = 10;
      const got: Record<string, Array<{ stream: string; version: number }>> = { a: [], b: [] };
      const seen = new Set<string>();
      let stop = false;
      const consume = async (node: HeraldServer, name: string) => {
        while (!stop) {
          const messages: PulledMessage[] = await pull(node.url, "jobs", 20, 200);
          for (const m of messages) {
            const data = m.event.data as { stream: string; version: number };
            got[name]!.push(data);
            seen.add(m.event.id);
          }
          if (messages.length > 0) assert.equal(await ack(node.url, "jobs", messages), messages.length);
        }
      };
      const consumers = [consume(a, "a"), consume(b, "b")];
      // Both become members, the partitions split between them.
      await eventually("partitions split over both", async () => {
        const [ownA, ownB] = await Promise.all([owned(a.url, "jobs"), owned(b.url, "jobs")]);
        const all = [...ownA, ...ownB].sort((x, y) => x - y);
        return ownA.length > 0 && ownB.length > 0 && all.join() === "0,1,2,3,4,5,6,7" ? true : undefined;
      });
      for (let version = 1; version <= perStream; version++)
        await Promise.all(streams.map((s, i) => publish(i % 2 === 0 ? a.url : b.url, s, version)));
      await eventually("every event delivered", async () =>
        seen.size === streams.length * perStream ? true : undefined,
      );
      stop = true;
      await Promise.all(consumers);
      assert.ok(got.a!.length > 0 && got.b!.length > 0, `a: ${got.a!.length}, b: ${got.b!.length}`);
      // A stream is delivered by one instance only (its partition's), in order.
      const byA = new Set(got.a!.map((d) => d.stream));
      for (const d of got.b!) assert.ok(!byA.has(d.stream), `${d.stream} delivered by both`);
      assertStreamOrder(got.a!);
      assertStreamOrder(got.b!);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("a push subscription made on B is delivered by both; deleted on A, it stops on B; a leaving node hands over", async () => {
    const schema = freshSchema();
    const sink = await startSink();
    const [a, b] = await Promise.all([startNode(schema, "node-a"), startNode(schema, "node-b")]);
    let aClosed = false;
    try {
      await createSubscription(b.url, { id: "hook", sink: sink.url, config: { ordering: "key" } });
      await eventually("partitions split over both", async () => {
        const [ownA, ownB] = await Promise.all([owned(a.url, "hook"), owned(b.url, "hook")]);
        return ownA.length === 4 && ownB.length === 4 ? true : undefined;
      });
      const streams = Array.from({ length: 16 }, (_, i) => `order-${i}`);
      for (let version = 1; version <= 3; version++)
        await Promise.all(streams.map((s) => publish(a.url, s, version)));
      const delivered = () =>
        // Binary mode: the body is the event's data.
        sink.received.map((r) => ({
          data: JSON.parse(r.body.toString()) as { stream: string; version: number },
        }));
      await eventually("all pushed", async () =>
        new Set(delivered().map((e) => `${e.data.stream}/${e.data.version}`)).size === 48 ? true : undefined,
      );
      assertStreamOrder(delivered().map((e) => e.data));
      // A leaves gracefully: B takes every partition and delivers what comes next.
      await a.close();
      aClosed = true;
      await eventually("B to hold every partition", async () =>
        (await owned(b.url, "hook")).length === 8 ? true : undefined,
      );
      await Promise.all(streams.map((s) => publish(b.url, s, 4)));
      await eventually("pushed after the hand-over", async () =>
        delivered().filter((e) => e.data.version === 4).length >= 16 ? true : undefined,
      );
      assertStreamOrder(delivered().map((e) => e.data));
      // Deleted on B (A is gone; the delete path is the same for any instance).
      const removed = await api(b.url, "DELETE", "/subscriptions/hook");
      assert.equal(removed.status, 200);
    } finally {
      await Promise.all([aClosed ? undefined : a.close(), b.close()]);
      await sink.close();
    }
  });

  it("a delete on one instance stops the subscription on the other", async () => {
    const schema = freshSchema();
    const [a, b] = await Promise.all([startNode(schema, "node-a"), startNode(schema, "node-b")]);
    try {
      await createSubscription(a.url, { id: "gone" });
      await eventually("B to know it", async () =>
        (await api(b.url, "GET", "/subscriptions/gone")).status === 200 ? true : undefined,
      );
      assert.equal((await api(a.url, "DELETE", "/subscriptions/gone")).status, 200);
      await eventually("B to forget it", async () =>
        (await api(b.url, "GET", "/subscriptions/gone")).status === 404 ? true : undefined,
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("an SSE consumer on the instance without the resource's creator gets every event; the other holds nothing", async () => {
    const schema = freshSchema();
    const [a, b] = await Promise.all([startNode(schema, "node-a"), startNode(schema, "node-b")]);
    const controller = new AbortController();
    try {
      await createSubscription(a.url, { id: "live" });
      await eventually("B to know it", async () =>
        (await api(b.url, "GET", "/subscriptions/live")).status === 200 ? true : undefined,
      );
      const res = await fetch(`${b.url}/subscriptions/live/sse?ack=auto`, { signal: controller.signal });
      assert.equal(res.status, 200);
      let text = "";
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      const reading = (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            text += decoder.decode(value, { stream: true });
          }
        } catch {
          // aborted
        }
      })();
      // Only B has a consumer: B becomes the only member and takes every partition; A takes none.
      await eventually("B to hold every partition", async () =>
        (await owned(b.url, "live")).length === 8 && (await owned(a.url, "live")).length === 0
          ? true
          : undefined,
      );
      const streams = Array.from({ length: 10 }, (_, i) => `feed-${i}`);
      await Promise.all(streams.map((s) => publish(a.url, s, 1)));
      await eventually("every event streamed", async () =>
        streams.every((s) => text.includes(`"id":"${s}-1"`)) ? true : undefined,
      );
      controller.abort();
      await reading;
    } finally {
      controller.abort();
      await Promise.all([a.close(), b.close()]);
    }
  });
});
