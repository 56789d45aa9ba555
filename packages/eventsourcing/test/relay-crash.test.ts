// The outbox relay SIGKILLed between publish and mark, again and again, against a real herald serve:
// every committed row is in the broker, and none twice (the republished copies are absorbed by the
// broker's source+id dedupe), in order per key.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { sqliteOutbox } from "@herald/eventsourcing";
import { createMemoryLog } from "@herald/log";
import { startServer } from "@herald/server";
import Database from "better-sqlite3";
import { allEvents } from "./fixtures/orders-log.js";

const dir = mkdtempSync(join(tmpdir(), "herald-es-relay-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const child = new URL("./fixtures/relay-child.js", import.meta.url).pathname;

function run(dbPath: string, url: string, haltAt: number): Promise<"killed" | "done"> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, dbPath, url, String(haltAt)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("mid\n")) proc.kill("SIGKILL");
    });
    proc.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    proc.on("error", reject);
    proc.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve("killed");
      else if (code === 0 && out.includes("done")) resolve("done");
      else reject(new Error(`relay exited ${code}: ${err}`));
    });
  });
}

test("relay SIGKILLed between publish and mark 5 times: every row in herald once, in order per key", {
  timeout: 60_000,
}, async () => {
  const log = createMemoryLog();
  const server = await startServer({ log, port: 0, logLevel: "silent" });
  try {
    const dbPath = join(dir, "service.db");
    const db = new Database(dbPath);
    db.pragma("journal_mode = WAL");
    const outbox = sqliteOutbox(db);
    const KEYS = 6;
    const PER_KEY = 25;
    db.transaction(() => {
      for (let n = 0; n < PER_KEY; n++)
        for (let k = 0; k < KEYS; k++)
          outbox.add([
            new CloudEvent({
              source: "urn:test:svc",
              type: "svc.thing",
              subject: `k${k}`,
              id: `k${k}-${n}`,
              data: { n },
            }),
          ]);
    })();
    db.close();
    for (const haltAt of [1, 3, 2, 5, 4]) assert.equal(await run(dbPath, server.url, haltAt), "killed");
    assert.equal(await run(dbPath, server.url, 0), "done");

    const stored = (await allEvents(log)).map((s) => s.event);
    const ids = stored.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, "no duplicate stored in the broker");
    assert.equal(ids.length, KEYS * PER_KEY, "every committed row published");
    for (let k = 0; k < KEYS; k++) {
      const ns = stored.filter((e) => e.subject === `k${k}`).map((e) => (e.data as { n: number }).n);
      assert.deepEqual(
        ns,
        Array.from({ length: PER_KEY }, (_, i) => i),
        `k${k} in order`,
      );
    }
    const check = new Database(dbPath, { readonly: true });
    assert.deepEqual(check.prepare("SELECT count(*) AS n FROM herald_outbox WHERE sent_at IS NULL").get(), {
      n: 0,
    });
    check.close();
  } finally {
    await server.close();
    await log.close();
  }
});
