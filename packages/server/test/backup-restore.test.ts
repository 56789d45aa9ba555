// Subscription checkpoints across a backup and restore, on SQLite (the backup API) and PostgreSQL
// (pg_dump + pg_restore), with the server restarted on the restored copy:
// - a whole restore: /readyz shows the new epoch; the checkpoint (restored with the log) resumes,
//   and the events that take the positions the live database had given out are delivered;
// - a restore whose checkpoints are newer than its log (the checkpoints carried over): the
//   checkpoint is stale; `refuse` holds the subscription (409, /readyz, metric) until a reset,
//   `rewind` moves it back; either way no new event is skipped.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { dumpAndRestore, freshDatabase, needsPostgres } from "@herald/log-postgres/testing";
import { DATABASE_FILE, type HeraldServer, type StartServerOptions } from "@herald/server";
import Database from "better-sqlite3";
import pg from "pg";
import { start, tempDir } from "./server-harness.js";
import { ack, createSubscription, pull } from "./support/consumer.js";
import { api } from "./support/harness.js";

interface Storage {
  /** Server options for copy `name` ("live" or a restored one). */
  options(name: string): StartServerOptions;
  /** Backs up "live" into copy `name` (the server on "live" is stopped or running). */
  backup(name: string): Promise<void>;
  /** Copies every checkpoint of "live" into copy `name` (a restore that kept newer checkpoints). */
  carryCheckpoints(name: string): Promise<void>;
}

const dir = tempDir("herald-restore-");
after(() => dir.remove());

function sqliteStorage(): Storage {
  const dataDir = (name: string) => join(dir.path, name);
  const file = (name: string) => join(dataDir(name), DATABASE_FILE);
  return {
    options: (name) => ({ storage: "sqlite", dataDir: dataDir(name) }),
    async backup(name) {
      mkdirSync(dataDir(name), { recursive: true });
      const source = new Database(file("live"), { readonly: true });
      try {
        await source.backup(file(name));
      } finally {
        source.close();
      }
    },
    async carryCheckpoints(name) {
      const target = new Database(file(name));
      try {
        target.exec(`ATTACH DATABASE '${file("live")}' AS live`);
        target.exec("INSERT OR REPLACE INTO checkpoints SELECT * FROM live.checkpoints");
        target.exec("DETACH DATABASE live");
      } finally {
        target.close();
      }
    },
  };
}

async function postgresStorage(): Promise<Storage> {
  const live = await freshDatabase("herald_live");
  const copies = new Map<string, string>([["live", live.url]]);
  return {
    options: (name) => ({
      storage: "postgres",
      database: { url: copies.get(name)!, schema: "herald" },
      nodeId: name,
    }),
    async backup(name) {
      copies.set(name, (await dumpAndRestore(live.name)).url);
    },
    async carryCheckpoints(name) {
      const from = new pg.Client({ connectionString: live.url });
      const to = new pg.Client({ connectionString: copies.get(name)! });
      await Promise.all([from.connect(), to.connect()]);
      try {
        const rows = await from.query<{ grp: string; position: string }>(
          "SELECT grp, position FROM herald.checkpoints",
        );
        for (const row of rows.rows)
          await to.query(
            "INSERT INTO herald.checkpoints (grp, position) VALUES ($1, $2) ON CONFLICT (grp) DO UPDATE SET position = excluded.position",
            [row.grp, row.position],
          );
      } finally {
        await Promise.all([from.end(), to.end()]);
      }
    },
  };
}

async function publish(server: HeraldServer, ids: readonly string[]): Promise<number[]> {
  const positions: number[] = [];
  for (const id of ids) {
    const answer = await fetch(`${server.url}/events`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents+json" },
      body: JSON.stringify({ specversion: "1.0", id, source: "/orders", type: "order.placed", subject: "o" }),
    });
    assert.equal(answer.status, 200);
    const body = (await answer.json()) as { results: Array<{ position: number }> };
    positions.push(body.results[0]!.position);
  }
  return positions;
}

/**
 * Pulls and acks until `expected` events came (a cluster instance first has to win the partitions'
 * leases), then once more briefly to catch any extra; answers the event ids in order.
 */
async function drain(server: HeraldServer, expected: number): Promise<string[]> {
  const ids: string[] = [];
  const deadline = Date.now() + 20_000;
  while (ids.length < expected && Date.now() < deadline) {
    const messages = await pull(server.url, "orders", 100, 500);
    ids.push(...messages.map((m) => m.event.id));
    if (messages.length > 0) await ack(server.url, "orders", messages);
  }
  const extra = await pull(server.url, "orders", 100, 200);
  ids.push(...extra.map((m) => m.event.id));
  if (extra.length > 0) await ack(server.url, "orders", extra);
  return ids;
}

async function readyz(server: HeraldServer): Promise<Record<string, unknown>> {
  const res = await api(server.url, "GET", "/readyz");
  assert.equal(res.status, 200);
  return res.body as Record<string, unknown>;
}

async function metric(server: HeraldServer, line: RegExp): Promise<string | undefined> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return text.split("\n").find((l) => line.test(l));
}

function restoreScenarios(name: string, storage: () => Promise<Storage>, options: { skip?: string } = {}) {
  describe(`checkpoints across a backup and restore (${name})`, { ...options, timeout: 120_000 }, () => {
    it("a whole restore resumes; stale checkpoints carried over are held (refuse) or rewound, never skipping", async () => {
      const s = await storage();
      // The live database: 3 events acked, backed up, then 2 more acked.
      let server = await start(s.options("live"));
      const firstIdentity = (await readyz(server)).log as { id: string; epoch: string };
      await createSubscription(server.url, { id: "orders", types: ["order.placed"] });
      await publish(server, ["a1", "a2", "a3"]);
      assert.deepEqual(await drain(server, 3), ["a1", "a2", "a3"]);
      await server.close();
      for (const copy of ["whole", "refuse", "rewind"]) await s.backup(copy);
      server = await start(s.options("live"));
      assert.deepEqual((await readyz(server)).log, firstIdentity, "a restart is the same copy");
      await publish(server, ["a4", "a5"]);
      assert.deepEqual(await drain(server, 2), ["a4", "a5"]);
      await server.close();

      // 1. The whole backup: its checkpoint (3) came with its log; positions 4 and 5 are given again.
      server = await start(s.options("whole"));
      try {
        const ready = await readyz(server);
        const log = ready.log as { id: string; epoch: string; epochStart: number; previousEpoch?: string };
        assert.equal(log.id, firstIdentity.id);
        assert.notEqual(log.epoch, firstIdentity.epoch);
        assert.equal(log.previousEpoch, firstIdentity.epoch);
        assert.equal(log.epochStart, 3);
        assert.equal(ready.staleCheckpoints, undefined);
        assert.deepEqual(await publish(server, ["b4", "b5"]), [4, 5]);
        assert.deepEqual(await drain(server, 2), ["b4", "b5"]);
      } finally {
        await server.close();
      }

      // 2. The backup with the live database's checkpoints (5) over its log (head 3): held.
      await s.carryCheckpoints("refuse");
      server = await start({ ...s.options("refuse"), staleCheckpoints: "refuse" });
      try {
        const ready = await readyz(server);
        assert.deepEqual(ready.staleCheckpoints, [
          { subscription: "orders", checkpoint: 5, reason: "ahead", action: "held" },
        ]);
        assert.match((await metric(server, /^herald_subscriptions_held/)) ?? "", / 1$/);
        assert.match(
          (await metric(server, /^herald_stale_checkpoints_total\{.*action="held"/)) ?? "",
          /reason="ahead".* 1$/,
        );
        const refused = await api(server.url, "POST", "/subscriptions/orders/pull", { max: 10, waitMs: 0 });
        assert.equal(refused.status, 409);
        assert.equal((refused.body as { code: string }).code, "subscription-mode-conflict");
        assert.equal((await api(server.url, "GET", "/subscriptions/orders")).status, 200);
        // The new events take positions 4 and 5: the stale checkpoint would have skipped them.
        assert.deepEqual(await publish(server, ["c4", "c5"]), [4, 5]);
        const reset = await api(server.url, "POST", "/subscriptions/orders/reset", { position: 4 });
        assert.equal(reset.status, 200, JSON.stringify(reset.body));
        assert.deepEqual(await drain(server, 2), ["c4", "c5"]);
        assert.equal((await readyz(server)).staleCheckpoints, undefined);
      } finally {
        await server.close();
      }
      // Reset for good: a restart does not hold it again.
      server = await start({ ...s.options("refuse"), staleCheckpoints: "refuse" });
      try {
        assert.equal((await readyz(server)).staleCheckpoints, undefined);
        await publish(server, ["c6"]);
        assert.deepEqual(await drain(server, 1), ["c6"]);
      } finally {
        await server.close();
      }

      // 3. The same with `rewind`: moved back to what the copy holds (3), delivering on.
      await s.carryCheckpoints("rewind");
      server = await start({ ...s.options("rewind"), staleCheckpoints: "rewind" });
      try {
        assert.deepEqual((await readyz(server)).staleCheckpoints, [
          { subscription: "orders", checkpoint: 5, reason: "ahead", action: "rewound", to: 3 },
        ]);
        assert.deepEqual(await publish(server, ["d4", "d5"]), [4, 5]);
        assert.deepEqual(await drain(server, 2), ["d4", "d5"]);
      } finally {
        await server.close();
      }
    });
  });
}

restoreScenarios("SQLite", async () => sqliteStorage());
restoreScenarios("PostgreSQL", postgresStorage, needsPostgres);
