// Queue mode over real servers: `config.retention: "queue"` lets the retention pass drop events once
// every subscription matching them is a queue and has acked them; stream-mode subscriptions, and events
// no subscription matches, keep events.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type HeraldServer, startServer } from "@herald/server";
import { ack, createSubscription, pull } from "./support/consumer.js";
import { api, waitFor } from "./support/harness.js";

let nextId = 0;
async function appendTo(url: string, stream: string, count: number, type: string): Promise<void> {
  const events = Array.from({ length: count }, () => ({
    specversion: "1.0",
    id: `q-${++nextId}`,
    source: "/queue-test",
    type,
  }));
  const res = await fetch(`${url}/streams/${encodeURIComponent(stream)}`, {
    method: "POST",
    headers: { "content-type": "application/cloudevents-batch+json" },
    body: JSON.stringify(events),
  });
  assert.equal(res.status, 200, await res.text());
}

async function streamVersions(url: string, stream: string): Promise<number[]> {
  const res = await api(url, "GET", `/streams/${encodeURIComponent(stream)}?limit=100`);
  if (res.status === 404) return [];
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as { events: Array<{ version: number }> }).events.map((e) => e.version);
}

/** Pulls everything pending for `id` and acks it; resolves with how many were acked. */
async function drain(url: string, id: string): Promise<number> {
  const messages = await pull(url, id, 100, 500);
  return ack(url, id, messages);
}

/** Runs passes until one drops `expected` queue events (checkpoints are stored ~100 ms after an ack). */
async function dequeues(server: HeraldServer, expected: number): Promise<void> {
  await waitFor(
    async () => ((await server.runRetention()).dequeued === expected ? true : undefined),
    5000,
    `a pass dropping ${expected} queue events`,
  );
}

async function withServer(storage: "memory" | "sqlite", fn: (server: HeraldServer) => Promise<void>) {
  const dir = storage === "sqlite" ? mkdtempSync(join(tmpdir(), "herald-queue-")) : undefined;
  const server = await startServer({
    port: 0,
    lifecycleLogs: false,
    logLevel: "error",
    retention: { interval: 3_600_000 },
    ...(dir !== undefined ? { storage, dataDir: dir } : { memory: true }),
  });
  try {
    await fn(server);
  } finally {
    await server.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

for (const storage of ["memory", "sqlite"] as const) {
  describe(`queue mode (${storage})`, () => {
    it("drops an event once every matching subscription is a queue and has acked it", async () => {
      await withServer(storage, async (server) => {
        const { url } = server;
        const queue = { start: "beginning", ordering: "none", retention: "queue" };
        await createSubscription(url, { id: "q1", types: ["job", "both"], config: queue });
        await createSubscription(url, { id: "q2", types: ["both", "kept"], config: queue });
        await createSubscription(url, {
          id: "s1",
          types: ["kept"],
          config: { start: "beginning", ordering: "none", retention: "stream" },
        });
        await appendTo(url, "jobs", 3, "job");
        await appendTo(url, "shared", 2, "both");
        await appendTo(url, "audit", 2, "kept");
        await appendTo(url, "free", 2, "other");
        assert.equal((await server.runRetention()).dequeued, 0, "nothing acked yet");

        assert.equal(await drain(url, "q1"), 5);
        assert.equal(await drain(url, "s1"), 2);
        // q2 has not acked "shared": only "jobs" (matched by q1 alone) may go.
        await dequeues(server, 3);
        assert.deepEqual(await streamVersions(url, "jobs"), []);
        assert.deepEqual(await streamVersions(url, "shared"), [0, 1]);

        assert.equal(await drain(url, "q2"), 4);
        await dequeues(server, 2);
        assert.deepEqual(await streamVersions(url, "shared"), []);
        // Matched by the stream-mode s1 (acked or not) or by nobody: kept.
        assert.deepEqual(await streamVersions(url, "audit"), [0, 1]);
        assert.deepEqual(await streamVersions(url, "free"), [0, 1]);
        assert.equal((await server.runRetention()).dequeued, 0);

        // Versions and positions go on; new events wait for their acks again.
        await appendTo(url, "jobs", 1, "job");
        assert.deepEqual(await streamVersions(url, "jobs"), [3]);
        assert.equal((await server.runRetention()).dequeued, 0);
        assert.equal(await drain(url, "q1"), 1);
        await dequeues(server, 1);
        const head = await api(url, "GET", "/events?limit=100");
        assert.deepEqual(
          (head.body as { events: Array<{ stream: string }> }).events.map((e) => e.stream),
          ["audit", "audit", "free", "free"],
        );
      });
    });
  });
}

describe("queue mode settings", () => {
  it("config.retention is answered as a string; anything but stream or queue is refused", async () => {
    await withServer("memory", async ({ url }) => {
      await createSubscription(url, { id: "q", config: { retention: "queue" } });
      const shown = await api(url, "GET", "/subscriptions/q");
      assert.equal((shown.body as { config: Record<string, string> }).config.retention, "queue");
      const bad = await api(url, "POST", "/subscriptions", { id: "bad", config: { retention: "drop" } });
      assert.equal(bad.status, 400);
      const problem = bad.body as { code: string; errors: Array<{ field: string }> };
      assert.equal(problem.code, "subscription-invalid");
      assert.deepEqual(
        problem.errors.map((e) => e.field),
        ["/config/retention"],
      );
    });
  });

  it("a new stream-mode subscription matching acked queue events keeps the ones still there", async () => {
    await withServer("memory", async (server) => {
      const { url } = server;
      await createSubscription(url, {
        id: "q",
        config: { start: "beginning", ordering: "none", retention: "queue" },
      });
      await appendTo(url, "work", 2, "job");
      assert.equal(await drain(url, "q"), 2);
      await createSubscription(url, { id: "replay", config: { start: "beginning" } });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await server.runRetention()).dequeued, 0);
      assert.deepEqual(await streamVersions(url, "work"), [0, 1]);
    });
  });
});
