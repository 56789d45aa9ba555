// SIGKILL the server under load, many times: every event that got a 2xx must be in the log afterwards,
// positions stay gapless, nothing is stored twice, and a push subscription created before the first
// kill delivers every acknowledged event at least once in the end.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:http";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { get, type Page, tempDir } from "./server-harness.js";

const FIXTURE = fileURLToPath(new URL("./crash-fixture.js", import.meta.url));
const ROUNDS = 6;
const PRODUCERS = 12;

function spawnServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [FIXTURE, dataDir], { stdio: ["ignore", "pipe", "inherit"] });
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

/** Producers post single events and small batches until the server dies; `acked` fills as answers come. */
async function load(url: string, round: number, stop: { stopped: boolean }, acked: string[]): Promise<void> {
  await Promise.all(
    Array.from({ length: PRODUCERS }, async (_, producer) => {
      for (let n = 0; !stop.stopped; n++) {
        const size = n % 4 === 3 ? 5 : 1;
        const ids = Array.from({ length: size }, (_, k) => `r${round}-p${producer}-n${n}-k${k}`);
        const events = ids.map((id) => ({
          specversion: "1.0",
          id,
          source: "/crash",
          type: "t",
          subject: `p${producer}`,
        }));
        try {
          const response = await fetch(`${url}/events`, {
            method: "POST",
            body: JSON.stringify(size === 1 ? events[0] : events),
            headers: {
              "content-type":
                size === 1 ? "application/cloudevents+json" : "application/cloudevents-batch+json",
            },
          });
          await response.text();
          if (response.status === 200) acked.push(...ids);
        } catch {
          return; // the server is gone: this producer is done
        }
      }
    }),
  );
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

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

/** The webhook sink: records every delivered ce-id (duplicates allowed: delivery is at-least-once). */
async function startSink(): Promise<{ url: string; delivered: Set<string>; close(): Promise<void> }> {
  const delivered = new Set<string>();
  const server = createServer((req, res) => {
    const id = req.headers["ce-id"];
    req.resume();
    req.on("end", () => {
      if (typeof id === "string") delivered.add(id);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    delivered,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe("crash safety", () => {
  it(`keeps every 2xx'd event across ${ROUNDS} SIGKILLs under load, and delivers it`, {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir("herald-crash-");
    const acked = new Set<string>();
    const sink = await startSink();
    try {
      for (let round = 0; round <= ROUNDS; round++) {
        const { child, url } = await spawnServer(dir.path);
        // After a restart: everything acknowledged so far is there, gapless, once.
        const events = await readEverything(url);
        const ids = events.map((e) => String(e.event.id));
        assert.deepEqual(
          events.map((e) => e.position),
          Array.from({ length: events.length }, (_, i) => i + 1),
          "positions are gapless",
        );
        assert.equal(new Set(ids).size, ids.length, "no event stored twice");
        const present = new Set(ids);
        const lost = [...acked].filter((id) => !present.has(id));
        assert.deepEqual(lost, [], `round ${round}: acknowledged events lost`);
        if (round === 0) {
          const created = await fetch(`${url}/subscriptions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              id: "crash-push",
              sink: sink.url,
              config: { ordering: "none", maxInFlight: 256 },
            }),
          });
          assert.equal(created.status, 201, await created.text());
        }
        if (round === ROUNDS) {
          // Every acknowledged event reaches the subscriber at least once, despite the kills.
          const deadline = Date.now() + 60_000;
          while ([...acked].some((id) => !sink.delivered.has(id)) && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 100));
          }
          const undelivered = [...acked].filter((id) => !sink.delivered.has(id));
          assert.deepEqual(
            undelivered.slice(0, 10),
            [],
            `${undelivered.length} acknowledged events never delivered`,
          );
          child.kill("SIGTERM");
          await exited(child);
          break;
        }
        const stop = { stopped: false };
        const roundAcked: string[] = [];
        const producing = load(url, round, stop, roundAcked);
        // The kill lands under load: after the first answers (however slow a loaded machine is),
        // at a random moment.
        const waitUntil = Date.now() + 30_000;
        while (roundAcked.length === 0 && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 10));
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 300));
        child.kill("SIGKILL");
        await exited(child);
        stop.stopped = true;
        await producing;
        assert.ok(roundAcked.length > 0, `round ${round} acknowledged something before the kill`);
        for (const id of roundAcked) acked.add(id);
      }
    } finally {
      await sink.close();
      dir.remove();
    }
  });
});
