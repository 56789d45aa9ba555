// A projection process SIGKILLed in the middle of a batch, again and again: afterwards the read model
// is exactly the fold of the log (no event lost, none applied twice), in SQLite and in PostgreSQL.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openSqliteLog } from "@herald/log";
import Database from "better-sqlite3";
import pg from "pg";
import { expectedSummary, type OrderRow } from "./fixtures/order-summary.js";
import { allEvents, writeOrders } from "./fixtures/orders-log.js";
import { connection, freshSchema, needsPostgres } from "./support/pg.js";

const dir = mkdtempSync(join(tmpdir(), "herald-es-crash-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const child = new URL("./fixtures/projection-child.js", import.meta.url).pathname;

/** Runs the child; kills it with SIGKILL when it says "mid". Resolves with how it ended. */
function run(logPath: string, target: string, haltAt: number, mode = "plain"): Promise<"killed" | "done"> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, logPath, target, String(haltAt), mode], {
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
      else reject(new Error(`child exited ${code}: ${err}`));
    });
  });
}

async function crashLoop(target: string, read: () => Promise<OrderRow[]>, mode: "plain" | "inbox" = "plain") {
  const logPath = join(dir, `log-${Math.random().toString(36).slice(2)}.db`);
  // With the inbox: a dedupe window of one position, so copies of earlier events (same source and
  // id) are stored again at new positions, as past a real log's window; the read model must count
  // each event once.
  const log = await openSqliteLog({
    path: logPath,
    durability: "normal",
    ...(mode === "inbox" ? { dedupeWindow: 1 } : {}),
  });
  await writeOrders(log, 60, 4);
  const events = await allEvents(log);
  if (mode === "inbox") {
    const copies = events.filter((_, i) => i % 3 === 0).map((e) => e.event);
    for (let i = 0; i < copies.length; i += 10) await log.append(copies.slice(i, i + 10));
    assert.ok((await allEvents(log)).length > events.length, "the log holds copies");
  }
  await log.close();
  // Halt points inside the first, a middle and a later batch of each run (batches of 40).
  const halts = [17, 55, 3, 79];
  for (const haltAt of halts) assert.equal(await run(logPath, target, haltAt, mode), "killed");
  assert.equal(await run(logPath, target, 0, mode), "done");
  assert.deepEqual(await read(), expectedSummary(events));
}

const readSqlite = (path: string) => async () => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare("SELECT * FROM order_summary ORDER BY order_id").all() as OrderRow[];
  } finally {
    db.close();
  }
};

test("projection with the inbox in its transaction, SIGKILLed mid-batch 4 times over a log holding copies: SQLite read model = fold of the distinct events", {
  timeout: 60_000,
}, async () => {
  const rmPath = join(dir, "rm-inbox.db");
  await crashLoop(rmPath, readSqlite(rmPath), "inbox");
});

test("projection with the inbox in its transaction, SIGKILLed mid-batch 4 times over a log holding copies: PostgreSQL read model = fold of the distinct events", {
  ...needsPostgres,
  timeout: 60_000,
}, async () => {
  const schema = freshSchema();
  const url =
    connection.connectionString ??
    `postgres://${connection.user}@${connection.host}:${connection.port}/${connection.database}`;
  await crashLoop(
    `postgres:::${schema}:::${url}`,
    async () => {
      const client = new pg.Client(connection);
      await client.connect();
      try {
        return (await client.query<OrderRow>(`SELECT * FROM "${schema}".order_summary ORDER BY order_id`))
          .rows;
      } finally {
        await client.end();
      }
    },
    "inbox",
  );
});

test("projection SIGKILLed mid-batch 4 times, SQLite read model = fold of the log", {
  timeout: 60_000,
}, async () => {
  const rmPath = join(dir, "rm.db");
  await crashLoop(rmPath, async () => {
    const db = new Database(rmPath, { readonly: true });
    try {
      return db.prepare("SELECT * FROM order_summary ORDER BY order_id").all() as OrderRow[];
    } finally {
      db.close();
    }
  });
});

test("projection SIGKILLed mid-batch 4 times, PostgreSQL read model = fold of the log", {
  ...needsPostgres,
  timeout: 60_000,
}, async () => {
  const schema = freshSchema();
  const url =
    connection.connectionString ??
    `postgres://${connection.user}@${connection.host}:${connection.port}/${connection.database}`;
  await crashLoop(`postgres:::${schema}:::${url}`, async () => {
    const client = new pg.Client(connection);
    await client.connect();
    try {
      return (await client.query<OrderRow>(`SELECT * FROM "${schema}".order_summary ORDER BY order_id`)).rows;
    } finally {
      await client.end();
    }
  });
});
