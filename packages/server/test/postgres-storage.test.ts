// `storage: "postgres"`: the server on the real PostgreSQL (each test in its own schema): the schema
// is created on start, also by several instances starting at once; /readyz and the startup log say
// `postgres` and never show the database password.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { createLogger, type HeraldServer, startServer } from "@herald/server";
import pg from "pg";
import { get, post, structured } from "./server-harness.js";
import { connection, databaseUrl, freshSchema, needsPostgres } from "./support/pg.js";

function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = password; // trust auth on the test server ignores it
  return parsed.toString();
}

describe("storage postgres", needsPostgres, () => {
  it("starts on a fresh schema, reports postgres in /readyz and the startup log, redacts the password", async () => {
    const schema = freshSchema();
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const server = await startServer({
      port: 0,
      storage: "postgres",
      database: { url: withPassword(databaseUrl, "topsecret"), schema },
      nodeId: "node-a",
      logger: createLogger("info", sink, "json"),
    });
    try {
      const ready = await get(`${server.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(ready.body.storage, "postgres");
      assert.equal(ready.body.nodeId, "node-a");
      assert.equal(ready.body.schema, schema);
      assert.match(String(ready.body.database), /\[REDACTED\]@/);
      assert.ok(!JSON.stringify(ready.body).includes("topsecret"));
      const started = lines.map((line) => JSON.parse(line)).find((r) => r.msg.startsWith("herald listening"));
      assert.ok(started, lines.join(""));
      assert.equal(started.storage, "postgres");
      assert.match(started.msg, /\[REDACTED\]@.*schema herald_test_/);
      assert.ok(!lines.join("").includes("topsecret"), "no log line holds the password");
      const appended = await post(
        `${server.url}/events`,
        ...structured({ id: "e1", source: "/t", type: "t" }),
      );
      assert.equal(appended.status, 200, JSON.stringify(appended.body));
    } finally {
      await server.close();
    }
    // The tables are where the setting says.
    const client = new pg.Client(connection);
    await client.connect();
    try {
      const rows = await client.query(`SELECT count(*)::int AS n FROM "${schema}".events`);
      assert.equal(rows.rows[0].n, 1);
    } finally {
      await client.end();
    }
  });

  it("three instances starting at the same moment on a fresh schema migrate it once and share the log", async () => {
    const schema = freshSchema();
    const servers: HeraldServer[] = await Promise.all(
      ["a", "b", "c"].map((node) =>
        startServer({
          port: 0,
          logLevel: "silent",
          storage: "postgres",
          database: { url: databaseUrl, schema },
          nodeId: node,
        }),
      ),
    );
    try {
      // Each ingests; any answers reads of all.
      for (const [i, server] of servers.entries()) {
        const answer = await post(
          `${server.url}/events`,
          ...structured({ id: `e${i}`, source: "/t", type: "t" }),
        );
        assert.equal(answer.status, 200);
      }
      for (const server of servers) {
        const read = await get<{ events: Array<{ event: { id: string } }> }>(`${server.url}/events?limit=10`);
        assert.deepEqual(
          read.body.events.map((e) => e.event.id),
          ["e0", "e1", "e2"],
        );
      }
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  });

  it("reports an old transaction holding the head row: /readyz names it, the gauge shows its age, appends wait for it", async () => {
    const schema = freshSchema();
    const server = await startServer({
      port: 0,
      logLevel: "silent",
      storage: "postgres",
      database: { url: databaseUrl, schema, oldTransactionAfter: 200 },
      cluster: { leaseMs: 600 },
    });
    const stuck = new pg.Client({ ...connection, application_name: "stuck-test" });
    await stuck.connect();
    try {
      const pid = (await stuck.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      await stuck.query("BEGIN");
      await stuck.query(`SELECT head FROM "${schema}".log_head FOR UPDATE`);
      let appended = false;
      const append = post(
        `${server.url}/events`,
        ...structured({ id: "held", source: "/t", type: "t" }),
      ).then((answer) => {
        appended = true;
        return answer;
      });
      type Old = { pid: number; applicationName: string; ageSeconds: number; blocksAppends: boolean };
      const deadline = Date.now() + 10_000;
      let seen: Old | undefined;
      while (seen === undefined) {
        assert.ok(Date.now() < deadline, "the old transaction was never reported");
        const ready = await get<{ oldTransactions?: Old[] }>(`${server.url}/readyz`);
        seen = ready.body.oldTransactions?.find((t) => t.pid === pid);
        if (seen === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(seen.applicationName, "stuck-test");
      assert.equal(seen.blocksAppends, true);
      assert.ok(seen.ageSeconds >= 0.2);
      assert.equal(appended, false, "the append waits for the head row");
      const metrics = await get<string>(`${server.url}/metrics`);
      const line = String(metrics.body)
        .split("\n")
        .find(
          (l) =>
            l.startsWith("herald_postgres_oldest_transaction_seconds{") &&
            l.includes('blocks_appends="true"'),
        );
      assert.ok(line !== undefined && Number(line.split(" ").pop()) > 0, line);
      await stuck.query("ROLLBACK");
      assert.equal((await append).status, 200);
    } finally {
      await stuck.end();
      await server.close();
    }
  });
});
