// Streaming consumers (SSE and WebSocket) against a real `herald serve`, one case list run over both
// transports: delivery and ack exactly once, redelivery after a failure, reconnection across a server
// restart without loss, permanent refusals, ordering by key, graceful stop and abort, and a model
// check that what the consumer acked is what the broker counts.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { startServer } from "@herald/server";
import { ConsumerRejectedError, HeraldClient, RetryableError, type StreamConsumer } from "@herald/sdk";
import fc from "fast-check";
import { deferred } from "./support/events.js";
import { startHerald } from "./support/herald.js";
import { pause, until } from "./support/wait.js";

let herald: Awaited<ReturnType<typeof startHerald>>;
let client: HeraldClient;
before(async () => {
  herald = await startHerald();
  client = new HeraldClient({ url: herald.url });
});
after(async () => {
  await client.close();
  await herald.close();
});

let serial = 0;
const unique = (what: string) => `${what}-${process.pid}-${++serial}`;
const ev = (type: string, data: unknown = {}, extra: Record<string, unknown> = {}) =>
  new CloudEvent({ source: "/streaming", type, data, ...extra });

interface BrokerStats {
  delivered: number;
  retried: number;
  lag: number;
  inFlight: number;
}
async function brokerStats(url: string, id: string): Promise<BrokerStats> {
  const res = await fetch(`${url}/subscriptions/${encodeURIComponent(id)}/stats`);
  assert.equal(res.status, 200);
  return (await res.json()) as BrokerStats;
}

const quiet = { onError: () => {} };
const fast = { backoff: { baseMs: 1, capMs: 5 }, reconnect: { baseMs: 20, capMs: 200 } };

for (const transport of ["sse", "ws"] as const) {
  describe(`${transport} consumer`, () => {
    test("every message is delivered and acked once", async () => {
      const id = unique(`${transport}-once`);
      await client.createSubscription({ id, types: [`${id}.e`], config: { ordering: "none" } });
      const events = Array.from({ length: 60 }, (_, i) => ev(`${id}.e`, { i }));
      assert.ok((await client.sendBatch(events)).ok);
      const seen: string[] = [];
      const consumer = client.subscribe(id, (e) => void seen.push(e.id), { transport, ...fast });
      assert.equal(consumer.transport, transport);
      await until(() => seen.length >= events.length, 10_000, "all delivered");
      await until(() => consumer.stats.acked >= events.length, 5_000, "all acked");
      await consumer.stop();
      assert.deepEqual([...seen].sort(), events.map((e) => e.id).sort());
      assert.equal(new Set(seen).size, seen.length, "an event was handled twice");
      const stats = await brokerStats(herald.url, id);
      assert.equal(stats.delivered, events.length);
      assert.equal(stats.lag, 0);
      assert.equal(consumer.stats.acked, events.length);
      assert.equal(consumer.stats.handled, events.length);
      assert.equal(consumer.stats.connected, false);
    });

    test("a failed handling is nacked and redelivered with deliveryCount 2", async () => {
      const id = unique(`${transport}-retry`);
      await client.createSubscription({ id, types: [`${id}.e`] });
      const event = ev(`${id}.e`);
      assert.ok((await client.send(event)).ok);
      const attempts: number[] = [];
      const consumer = client.subscribe(
        id,
        (_e, ctx) => {
          attempts.push(ctx.attempt);
          assert.equal(ctx.transport, transport);
          if (ctx.attempt === 1) throw new Error("first try fails");
        },
        { transport, ...fast, ...quiet },
      );
      await until(() => consumer.stats.acked === 1, 5_000, "acked after the retry");
      await consumer.stop();
      assert.deepEqual(attempts, [1, 2]);
      assert.equal(consumer.stats.failed, 1);
      const stats = await brokerStats(herald.url, id);
      assert.equal(stats.delivered, 1);
      assert.equal(stats.retried, 1);
    });

    test("server restart mid-stream: the consumer reconnects and gets what was not acked", async () => {
      const dir = mkdtempSync(join(tmpdir(), "herald-stream-"));
      const config = { dataDir: dir, logLevel: "silent" as const, shutdownDrainMs: 300 };
      let server = await startServer({ ...config, port: 0 });
      const port = Number(new URL(server.url).port);
      const local = new HeraldClient({ url: server.url });
      try {
        const id = "restart";
        await local.createSubscription({ id, types: ["r.e"], config: { ordering: "none" } });
        const events = Array.from({ length: 10 }, (_, i) => ev("r.e", { i }));
        assert.ok((await local.sendBatch(events)).ok);
        const held = deferred<void>();
        const handled = new Map<string, number>();
        const consumer = local.subscribe(
          id,
          async (e) => {
            // The last five stay unfinished until the broker is gone: their acks cannot land.
            if ((e.data as { i: number }).i >= 5) await held.promise;
            handled.set(e.id, (handled.get(e.id) ?? 0) + 1);
          },
          { transport, ...fast, ...quiet },
        );
        await until(() => consumer.stats.acked === 5 && consumer.stats.inFlight === 5, 5_000, "five acked");
        // A WebSocket ack has no answer: wait until the broker has counted them, not just until they left.
        for (let n = 0; (await brokerStats(server.url, id)).delivered < 5; n++) {
          assert.ok(n < 200, "the broker never counted the five acks");
          await pause(10);
        }
        await server.close();
        held.resolve();
        server = await startServer({ ...config, port });
        const later = ev("r.e", { i: 10 });
        assert.ok((await local.send(later)).ok);
        await until(() => handled.size === 11 && consumer.stats.inFlight === 0, 10_000, "after restart");
        await until(() => consumer.stats.connected, 5_000, "connected");
        await consumer.stop();
        assert.ok(consumer.stats.reconnects >= 1, "it reconnected");
        for (const [i, e] of events.entries()) {
          // Acked before the restart: never again; unacked: handled again after it.
          assert.equal(handled.get(e.id), i < 5 ? 1 : 2, `event ${i}`);
        }
        assert.equal(handled.get(later.id), 1);
        const stats = await brokerStats(server.url, id);
        assert.equal(stats.lag, 0);
      } finally {
        await local.close();
        await server.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test("an unknown subscription ends the consumer with ConsumerRejectedError, no retry loop", async () => {
      const errors: Error[] = [];
      const consumer = client.subscribe(unique("missing"), () => {}, {
        transport,
        reconnect: { baseMs: 1, capMs: 1 },
        onError: (e) => errors.push(e),
      });
      await assert.rejects(consumer.done(), (error: unknown) => {
        assert.ok(error instanceof ConsumerRejectedError);
        assert.equal(error.status, 404);
        assert.equal(error.transport, transport);
        return true;
      });
      await pause(50);
      assert.equal(errors.length, 1, "reported once");
      assert.ok(consumer.error instanceof ConsumerRejectedError);
      assert.equal(consumer.stats.reconnects, 0);
    });

    test("the API key goes as a bearer header; a wrong key is refused with 401", async () => {
      const keys = [{ key: "good-key", scopes: ["publish" as const, "consume" as const, "admin" as const] }];
      const server = await startServer({ memory: true, port: 0, logLevel: "silent", apiKeys: keys });
      const good = new HeraldClient({ url: server.url, apiKey: "good-key" });
      const bad = new HeraldClient({ url: server.url, apiKey: "wrong-key" });
      try {
        await good.createSubscription({ id: "authed", types: ["a.e"] });
        const event = ev("a.e");
        assert.ok((await good.send(event)).ok);
        const got: string[] = [];
        const consumer = good.subscribe("authed", (e) => void got.push(e.id), { transport, ...fast });
        await until(() => consumer.stats.acked === 1, 5_000, "authed delivery");
        await consumer.stop();
        assert.deepEqual(got, [event.id]);
        const refused = bad.subscribe("authed", () => {}, { transport, ...quiet });
        await assert.rejects(
          refused.done(),
          (error: unknown) => error instanceof ConsumerRejectedError && error.status === 401,
        );
      } finally {
        await good.close();
        await bad.close();
        await server.close();
      }
    });

    test("ordering by key: one event per stream at a time, in stream order", async () => {
      const id = unique(`${transport}-order`);
      await client.createSubscription({ id, types: [`${id}.e`], config: { ordering: "key" } });
      const streams = ["s0", "s1", "s2"];
      const events = streams.flatMap((s) =>
        Array.from({ length: 8 }, (_, n) => ev(`${id}.e`, { n }, { subject: `${id}/${s}` })),
      );
      assert.ok((await client.sendBatch(events)).ok);
      const busy = new Set<string>();
      const order = new Map<string, number[]>();
      let overlaps = 0;
      let peak = 0;
      const consumer = client.subscribe(
        id,
        async (e) => {
          const key = e.subject!;
          if (busy.has(key)) overlaps++;
          busy.add(key);
          peak = Math.max(peak, busy.size);
          await pause(Math.floor(Math.random() * 5));
          order.set(key, [...(order.get(key) ?? []), (e.data as { n: number }).n]);
          busy.delete(key);
        },
        { transport, ...fast },
      );
      await until(() => consumer.stats.acked === events.length, 10_000, "all acked");
      await consumer.stop();
      assert.equal(overlaps, 0, "two events of one stream were handled at once");
      for (const s of streams) assert.deepEqual(order.get(`${id}/${s}`), [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.ok(peak > 1, "different streams ran in parallel");
    });

    test("stop() lets a running handler finish and flushes its ack; an aborted signal stops too", async () => {
      const id = unique(`${transport}-stop`);
      await client.createSubscription({ id, types: [`${id}.e`] });
      assert.ok((await client.send(ev(`${id}.e`))).ok);
      const started = deferred<void>();
      let finished = false;
      const consumer = client.subscribe(
        id,
        async () => {
          started.resolve();
          await pause(150);
          finished = true;
        },
        { transport, ...fast },
      );
      await started.promise;
      await consumer.stop();
      assert.equal(finished, true);
      assert.equal((await brokerStats(herald.url, id)).delivered, 1);

      const abort = new AbortController();
      const aborted = client.subscribe(id, () => {}, { transport, signal: abort.signal });
      await until(() => aborted.stats.connected, 5_000, "connected");
      abort.abort();
      await aborted.done();
      assert.equal(aborted.stats.connected, false);
    });

    test("model: what the consumer acked and nacked is what the broker counts", async () => {
      const plan = fc.array(
        fc.record({ key: fc.constantFrom("a", "b", "c", "d"), failures: fc.integer({ min: 0, max: 2 }) }),
        { minLength: 1, maxLength: 25 },
      );
      const ordering = fc.constantFrom("key" as const, "none" as const);
      await fc.assert(
        fc.asyncProperty(plan, ordering, async (steps, order) => {
          const id = unique(`${transport}-model`);
          await client.createSubscription({ id, types: [`${id}.e`], config: { ordering: order } });
          const events = steps.map((s, i) => ev(`${id}.e`, { i }, { subject: `${id}/${s.key}` }));
          const failuresOf = new Map(events.map((e, i) => [e.id, steps[i]!.failures]));
          assert.ok((await client.sendBatch(events)).ok);
          // The model: each event is tried until its planned failures are used up, then acked.
          const attempts = new Map<string, number[]>();
          const consumer: StreamConsumer = client.subscribe(
            id,
            (e, ctx) => {
              attempts.set(e.id, [...(attempts.get(e.id) ?? []), ctx.attempt]);
              if (ctx.attempt <= failuresOf.get(e.id)!) throw new RetryableError("planned", { delayMs: 1 });
            },
            { transport, ...fast, ...quiet },
          );
          try {
            await until(() => consumer.stats.acked === events.length, 10_000, "all acked");
          } finally {
            await consumer.stop();
          }
          const totalFailures = steps.reduce((n, s) => n + s.failures, 0);
          for (const e of events) {
            const expected = Array.from({ length: failuresOf.get(e.id)! + 1 }, (_, n) => n + 1);
            assert.deepEqual(attempts.get(e.id), expected, `attempts of ${e.id}`);
          }
          const stats = await brokerStats(herald.url, id);
          assert.equal(stats.delivered, consumer.stats.acked);
          assert.equal(stats.delivered, events.length);
          assert.equal(stats.retried, consumer.stats.failed);
          assert.equal(stats.retried, totalFailures);
          assert.equal(stats.lag, 0);
          assert.equal(stats.inFlight, 0);
          await client.deleteSubscription(id);
        }),
        { numRuns: 4 },
      );
    });
  });
}

test("transport: an unknown name is refused", () => {
  assert.throws(
    () => client.subscribe("x", () => {}, { transport: "carrier-pigeon" } as unknown as { transport: "ws" }),
    /transport must be "auto", "poll", "sse" or "ws"/,
  );
});
