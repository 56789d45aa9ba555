// Publishing over the WebSocket ingest (`publish: { transport: "ws" }`) against a real broker: the
// same results as HTTP (ack with positions, duplicates, nacks with the problem), 1000 pipelined
// sends, the fallback to HTTP when the upgrade is refused, and no loss across a broker restart.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { startServer } from "@herald/server";
import { HeraldClient, type SendResult } from "@herald/sdk";
import { startHerald } from "./support/herald.js";
import { startProxy } from "./support/proxy.js";

let herald: Awaited<ReturnType<typeof startHerald>>;
before(async () => {
  herald = await startHerald();
});
after(async () => {
  await herald.close();
});

let serial = 0;
const unique = (what: string) => `${what}-${process.pid}-${++serial}`;
const ev = (source: string, id: string, extra: Record<string, unknown> = {}) =>
  new CloudEvent({ source, id, type: "wsp.e", data: { id }, ...extra });

/** The result without what differs between two sends of equal standing (attempts). */
const shape = (r: SendResult) => {
  if (r.kind === "ack") return { kind: r.kind, duplicate: r.duplicate, stream: r.stream, version: r.version };
  if (r.kind === "nack")
    return {
      kind: r.kind,
      status: r.status,
      code: r.problem.code,
      title: r.problem.title,
      type: r.problem.type,
    };
  return { kind: r.kind };
};

describe("WebSocket publishing", () => {
  test("gives the results HTTP gives: acks with positions, duplicates by source+id, nacks with the problem", async () => {
    const http = new HeraldClient({ url: herald.url });
    const ws = new HeraldClient({ url: herald.url, publish: { transport: "ws" } });
    try {
      const source = `/${unique("same")}`;
      const overWs = await ws.send(ev(source, "a", { subject: `${source}/s` }));
      const overHttp = await http.send(ev(source, "b", { subject: `${source}/s` }));
      assert.equal(ws.publishTransport, "ws");
      assert.ok(overWs.ok && overHttp.ok);
      assert.equal(overHttp.position, overWs.position + 1);
      assert.equal(overHttp.version, overWs.version + 1);
      // Each one's duplicate, over the other transport: the same answer, flagged.
      const dupWs = await ws.send(ev(source, "b", { subject: `${source}/s` }));
      const dupHttp = await http.send(ev(source, "a", { subject: `${source}/s` }));
      assert.ok(dupWs.ok && dupHttp.ok);
      assert.deepEqual({ ...dupWs, attempts: 1 }, { ...overHttp, duplicate: true, attempts: 1 });
      assert.deepEqual({ ...dupHttp, attempts: 1 }, { ...overWs, duplicate: true, attempts: 1 });
      // Refusals: an invalid event and a system stream, the server's judgement on both transports.
      const invalid = { specversion: "1.0", id: "x", source } as never;
      const system = ev(source, "y", { subject: "$deadletter-x" });
      for (const [what, a, b] of [
        [
          "invalid",
          await ws.send(invalid, { validate: false }),
          await http.send(invalid, { validate: false }),
        ],
        ["system stream", await ws.send(system), await http.send(system)],
      ] as const) {
        assert.equal(a.kind, "nack", what);
        assert.deepEqual(shape(a), shape(b), what);
      }
      // Batches are atomic over the WebSocket too.
      const batch = await ws.sendBatch([ev(source, "c"), ev(source, "d")]);
      assert.ok(batch.ok);
      assert.deepEqual(
        batch.results.map((r) => r.position),
        [batch.results[0]!.position, batch.results[0]!.position + 1],
      );
      // A named stream is an HTTP send, whatever the transport.
      const named = await ws.append(`${source}-named`, [ev(source, "e")], { expectedVersion: "no-stream" });
      assert.ok(named.ok);
      assert.equal(named.results[0]!.stream, `${source}-named`);
    } finally {
      await ws.close();
      await http.close();
    }
  });

  test("1000 sends in flight on one connection all resolve, positions gapless", async () => {
    const client = new HeraldClient({ url: herald.url, publish: { transport: "ws" } });
    try {
      const source = `/${unique("pipe")}`;
      const results = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => client.send(ev(source, `p${i}`))),
      );
      const positions = results.map((r) => {
        assert.ok(r.ok, r.kind);
        return r.position;
      });
      positions.sort((a, b) => a - b);
      assert.deepEqual(
        positions,
        positions.map((_, i) => positions[0]! + i),
      );
      assert.equal(client.publishTransport, "ws");
    } finally {
      await client.close();
    }
  });

  test("falls back to HTTP when the broker refuses the upgrade (an older broker: 404)", async () => {
    const proxy = await startProxy(herald.url);
    proxy.refuseUpgrades = true;
    const client = new HeraldClient({ url: proxy.url, publish: { transport: "ws" } });
    try {
      const source = `/${unique("fallback")}`;
      const first = await client.send(ev(source, "1"));
      assert.ok(first.ok, first.kind);
      assert.equal(first.attempts, 1);
      assert.equal(client.publishTransport, "http");
      const second = await client.send(ev(source, "2"));
      assert.ok(second.ok);
      assert.equal(second.position, first.position + 1);
      assert.equal(proxy.upgrades, 0);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  test("a dropped connection: sends in flight are retried on a new one, each event stored once", async () => {
    const proxy = await startProxy(herald.url);
    const client = new HeraldClient({
      url: proxy.url,
      publish: { transport: "ws" },
      retry: { attempts: 10, baseMs: 10, capMs: 100 },
    });
    try {
      const source = `/${unique("drop")}`;
      const sends: Array<Promise<SendResult>> = [];
      for (let i = 0; i < 400; i++) {
        sends.push(client.send(ev(source, `d${i}`)));
        if (i === 200) proxy.dropAll();
        if (i % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      const results = await Promise.all(sends);
      for (const r of results) assert.ok(r.ok, r.kind);
      assert.ok(proxy.upgrades >= 2, "reconnected");
      assert.ok(
        results.some((r) => r.attempts > 1),
        "some sends were in flight when the connection dropped",
      );
      // Resends were deduped: each event once in the log.
      const stored = new Map<string, number>();
      for await (const entry of client.events({ filter: `source = '${source}'` })) {
        stored.set(entry.event.id as string, (stored.get(entry.event.id as string) ?? 0) + 1);
      }
      assert.equal(stored.size, 400);
      assert.ok([...stored.values()].every((n) => n === 1));
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  test("across a broker restart: no send is lost", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "herald-wsp-"));
    let server = await startServer({ port: 0, dataDir, logLevel: "silent", shutdownDrainMs: 1_000 });
    const port = server.port;
    const client = new HeraldClient({
      url: server.url,
      publish: { transport: "ws" },
      retry: { attempts: 20, baseMs: 20, capMs: 200 },
    });
    try {
      const sends = Array.from({ length: 100 }, (_, i) => client.send(ev("/restart", `r${i}`)));
      await server.close();
      server = await startServer({ port, dataDir, logLevel: "silent" });
      const more = Array.from({ length: 100 }, (_, i) => client.send(ev("/restart", `r${100 + i}`)));
      const results = await Promise.all([...sends, ...more]);
      for (const r of results) assert.ok(r.ok, r.kind === "undelivered" ? r.error.message : r.kind);
      assert.equal(await server.log.headPosition(), 200);
    } finally {
      await client.close();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
