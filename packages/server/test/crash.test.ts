// SIGKILL the server under load, many times: every event that got a 2xx must be in the log afterwards,
// positions stay gapless and nothing is stored twice.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
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

/** Producers post single events and small batches until the server dies; returns the acked ids. */
async function load(url: string, round: number, stop: { stopped: boolean }): Promise<string[]> {
  const acked: string[] = [];
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
  return acked;
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

describe("crash safety", () => {
  it(`keeps every 2xx'd event across ${ROUNDS} SIGKILLs under load`, { timeout: 90_000 }, async () => {
    const dir = tempDir("herald-crash-");
    const acked = new Set<string>();
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
        if (round === ROUNDS) {
          child.kill("SIGTERM");
          await exited(child);
          break;
        }
        const stop = { stopped: false };
        const producing = load(url, round, stop);
        await new Promise((r) => setTimeout(r, 200 + Math.random() * 300));
        child.kill("SIGKILL");
        await exited(child);
        stop.stopped = true;
        const roundAcked = await producing;
        assert.ok(roundAcked.length > 0, `round ${round} acknowledged something before the kill`);
        for (const id of roundAcked) acked.add(id);
      }
    } finally {
      dir.remove();
    }
  });
});
