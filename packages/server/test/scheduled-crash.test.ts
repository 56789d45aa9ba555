// Scheduled delivery across process deaths, on SQLite in a child server process: an event scheduled
// before the server stops is delivered once after a server starts past its time; SIGKILLs while due
// events are being released lose none and store none twice.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { ListScheduledResponse } from "@herald/protocol";
import { get, type Page, tempDir } from "./server-harness.js";
import { databaseUrl, freshSchema, needsPostgres } from "./support/pg.js";

const FIXTURE = fileURLToPath(new URL("./scheduled-fixture.js", import.meta.url));

/** A server process on a SQLite data dir, or (args `postgres`, url, schema, node id) on PostgreSQL. */
function spawnServer(...args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const where = args.length === 1 ? ["sqlite", ...args] : args;
  const child = spawn(process.execPath, [FIXTURE, ...where], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      out += chunk;
      const match = /READY (\S+)/.exec(out);
      if (match) resolve({ child, url: match[1]! });
    });
    child.once("exit", (code, signal) => reject(new Error(`server exited early (${code ?? signal})`)));
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

async function readEverything(url: string): Promise<Page["events"]> {
  const all: Page["events"] = [];
  let after = 0;
  for (;;) {
    const page = await get<Page>(`${url}/events?after=${after}&limit=1000`);
    assert.equal(page.status, 200);
    all.push(...page.body.events);
    if (page.body.events.length === 0) return all;
    after = page.body.next;
  }
}

/** Whether the log holds an event after `position`. */
async function anyAfter(url: string, position: number): Promise<boolean> {
  const page = await get<Page>(`${url}/events?after=${position}&limit=1`);
  assert.equal(page.status, 200);
  return page.body.events.length > 0;
}

async function pending(url: string): Promise<number> {
  let count = 0;
  let after = 0;
  for (;;) {
    const page = await get<ListScheduledResponse>(`${url}/scheduled?after=${after}&limit=1000`);
    assert.equal(page.status, 200);
    count += page.body.scheduled.length;
    if (page.body.scheduled.length === 0) return count;
    after = page.body.next;
  }
}

async function schedule(url: string, events: readonly Record<string, unknown>[]): Promise<void> {
  const response = await fetch(`${url}/events`, {
    method: "POST",
    headers: { "content-type": "application/cloudevents-batch+json" },
    body: JSON.stringify(events.map((event) => ({ specversion: "1.0", type: "sched.crash", ...event }))),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  const body = JSON.parse(text) as { results: { scheduled?: boolean }[] };
  assert.ok(body.results.every((result) => result.scheduled === true));
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("scheduled delivery across process deaths", () => {
  it("delivers once an event scheduled before the server stopped, when a server starts after its time", {
    timeout: 60_000,
  }, async () => {
    const dir = tempDir("herald-sched-restart-");
    try {
      const first = await spawnServer(dir.path);
      const created = await fetch(`${first.url}/subscriptions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: "sched-restart", types: ["sched.crash"] }),
      });
      assert.equal(created.status, 201);
      const deliverAt = Date.now() + 1500;
      await schedule(first.url, [
        { id: "r-1", source: "/restart", subject: "r", deliverat: new Date(deliverAt).toISOString() },
      ]);
      await kill(first.child);
      // The server is down when its time comes.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, deliverAt - Date.now() + 200)));
      const second = await spawnServer(dir.path);
      try {
        await eventually("the release after the restart", async () => (await pending(second.url)) === 0);
        const events = await readEverything(second.url);
        assert.deepEqual(
          events.map((e) => e.event.id),
          ["r-1"],
        );
        const pulled = await fetch(`${second.url}/subscriptions/sched-restart/pull`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ max: 10, waitMs: 5000 }),
        });
        const { messages } = (await pulled.json()) as {
          messages: { ackId: string; deliveryCount: number; event: { id: string } }[];
        };
        assert.deepEqual(
          messages.map((m) => [m.event.id, m.deliveryCount]),
          [["r-1", 1]],
        );
      } finally {
        await kill(second.child);
      }
    } finally {
      dir.remove();
    }
  });

  it("loses no scheduled event and stores none twice through SIGKILLs during release", {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir("herald-sched-crash-");
    const ROUNDS = 3;
    const PER_ROUND = 600;
    const scheduled: string[] = [];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const { child, url } = await spawnServer(dir.path);
        // Each batch due 1 … 4 s after it is sent: released continuously for seconds while the kill comes.
        const head = (await readEverything(url)).at(-1)?.position ?? 0;
        for (let offset = 0; offset < PER_ROUND; offset += 100) {
          const base = Date.now() + 1000;
          const events = Array.from({ length: 100 }, (_, k) => {
            const n = offset + k;
            const id = `c${round}-${n}`;
            scheduled.push(id);
            return {
              id,
              source: "/crash",
              subject: `key-${n % 7}`,
              deliverat: new Date(base + k * 30).toISOString(),
            };
          });
          await schedule(url, events);
        }
        // Kill once the release is under way: some of this round's events are in, some still pending.
        await eventually("the release under way", () => anyAfter(url, head));
        const left = await pending(url);
        await kill(child);
        assert.ok(left > 0, `round ${round}: everything was released before the kill`);
      }
      const { child, url } = await spawnServer(dir.path);
      try {
        await eventually("every event released", async () => (await pending(url)) === 0);
        const events = await readEverything(url);
        const ids = events.map((e) => String(e.event.id));
        assert.equal(new Set(ids).size, ids.length, "an event is in the log twice");
        assert.deepEqual(
          scheduled.filter((id) => !ids.includes(id)),
          [],
          "scheduled events lost",
        );
        assert.equal(ids.length, scheduled.length);
        assert.deepEqual(
          events.map((e) => e.position),
          Array.from({ length: events.length }, (_, i) => i + 1),
          "positions are gapless",
        );
      } finally {
        await kill(child);
      }
    } finally {
      dir.remove();
    }
  });

  it("two instances on PostgreSQL, one SIGKILLed during release again and again: each event once", {
    ...needsPostgres,
    timeout: 120_000,
  }, async () => {
    const schema = freshSchema();
    const ROUNDS = 3;
    const scheduled: string[] = [];
    const steady = await spawnServer("postgres", databaseUrl, schema, "steady");
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const victim = await spawnServer("postgres", databaseUrl, schema, `victim-${round}`);
        const head = (await readEverything(steady.url)).at(-1)?.position ?? 0;
        // Scheduled through both; due 1 … 4 s after each batch, so both release while the kill comes.
        for (let batch = 0; batch < 4; batch++) {
          const base = Date.now() + 1000;
          const events = Array.from({ length: 100 }, (_, k) => {
            const id = `pg${round}-${batch}-${k}`;
            scheduled.push(id);
            return {
              id,
              source: "/pg-crash",
              subject: `key-${k % 5}`,
              deliverat: new Date(base + k * 30).toISOString(),
            };
          });
          await schedule(batch % 2 === 0 ? victim.url : steady.url, events);
        }
        await eventually("the release under way", () => anyAfter(steady.url, head));
        await kill(victim.child);
      }
      await eventually("every event released", async () => (await pending(steady.url)) === 0);
      const events = await readEverything(steady.url);
      const ids = events.map((e) => String(e.event.id));
      assert.equal(new Set(ids).size, ids.length, "an event is in the log twice");
      assert.deepEqual(
        scheduled.filter((id) => !ids.includes(id)),
        [],
        "scheduled events lost",
      );
      assert.deepEqual(
        events.map((e) => e.position),
        Array.from({ length: events.length }, (_, i) => i + 1),
        "positions are gapless",
      );
    } finally {
      await kill(steady.child);
    }
  });
});
