// Scheduled delivery with two `herald serve` instances on one PostgreSQL schema (cluster mode): events
// scheduled through either instance are released once (each in the log exactly once) although both
// instances' releasers wake for the same due times; a cancel through one instance holds for both.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ListScheduledResponse, ReadEventsResponse } from "@herald/protocol";
import { type HeraldServer, startServer } from "@herald/server";
import { databaseUrl, freshSchema, needsPostgres } from "./support/pg.js";

function startNode(schema: string, nodeId: string): Promise<HeraldServer> {
  return startServer({
    port: 0,
    logLevel: "silent",
    storage: "postgres",
    database: { url: databaseUrl, schema },
    nodeId,
    cluster: { partitions: 4, leaseMs: 900 },
  });
}

async function schedule(url: string, events: readonly Record<string, unknown>[]): Promise<void> {
  const response = await fetch(`${url}/events`, {
    method: "POST",
    headers: { "content-type": "application/cloudevents-batch+json" },
    body: JSON.stringify(events.map((event) => ({ specversion: "1.0", type: "sched.cluster", ...event }))),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
}

async function readAll(url: string): Promise<ReadEventsResponse["events"]> {
  const all: ReadEventsResponse["events"][number][] = [];
  let after = 0;
  for (;;) {
    const page = (await (
      await fetch(`${url}/events?after=${after}&limit=1000`)
    ).json()) as ReadEventsResponse;
    all.push(...page.events);
    if (page.events.length === 0) return all;
    after = page.next;
  }
}

describe("scheduled delivery in cluster mode", () => {
  it("two instances on PostgreSQL release each scheduled event once", {
    ...needsPostgres,
    timeout: 60_000,
  }, async () => {
    const schema = freshSchema();
    const a = await startNode(schema, "node-a");
    const b = await startNode(schema, "node-b");
    try {
      // A far-off one, scheduled through A, seen and cancelled through B.
      await schedule(a.url, [
        { id: "far", source: "/cluster", deliverat: new Date(Date.now() + 600_000).toISOString() },
      ]);
      const listed = (await (await fetch(`${b.url}/scheduled`)).json()) as ListScheduledResponse;
      assert.deepEqual(
        listed.scheduled.map((entry) => entry.id),
        ["far"],
        "B lists what A scheduled",
      );
      const cancel = await fetch(`${b.url}/scheduled?source=%2Fcluster&id=far`, { method: "DELETE" });
      assert.equal(cancel.status, 204);
      // Each batch due 1.5 … 1.8 s after it is sent: both releasers have read the earliest time by then
      // (each re-reads it every second), so both wake for the same due times.
      const ids: string[] = [];
      for (const [node, name] of [
        [a, "a"],
        [b, "b"],
      ] as const) {
        for (let batch = 0; batch < 3; batch++) {
          const start = Date.now() + 1500;
          const events = Array.from({ length: 100 }, (_, k) => {
            const id = `${name}-${batch}-${k}`;
            ids.push(id);
            return {
              id,
              source: "/cluster",
              subject: `key-${k % 5}`,
              deliverat: new Date(start + k * 3).toISOString(),
            };
          });
          await schedule(node.url, events);
        }
      }
      const deadline = Date.now() + 30_000;
      for (;;) {
        const left = (await (await fetch(`${a.url}/scheduled`)).json()) as ListScheduledResponse;
        if (left.scheduled.length === 0) break;
        assert.ok(Date.now() < deadline, "scheduled events were not all released");
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const events = await readAll(b.url);
      const stored = events.map((e) => String(e.event.id));
      assert.equal(new Set(stored).size, stored.length, "an event was released twice");
      assert.deepEqual(
        ids.filter((id) => !stored.includes(id)),
        [],
        "events lost",
      );
      assert.ok(!stored.includes("far"), "the cancelled event was released");
      assert.equal(stored.length, ids.length);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
