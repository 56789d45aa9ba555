import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { createLogger, DATABASE_FILE, startServer } from "@herald/server";
import {
  get,
  type Page,
  type Problem,
  post,
  type ResultEntry,
  start,
  structured,
  tempDir,
  withServer,
} from "./server-harness.js";

type Results = { results: ResultEntry[] };
const ev = (id: string, extra: Record<string, unknown> = {}) =>
  structured({ id, source: "/srv", type: "t", ...extra });

describe("startServer", () => {
  it("stores in <dataDir>/herald.db and resumes after a restart", async () => {
    const dir = tempDir();
    try {
      const first = await start({ dataDir: dir.path });
      assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      for (let i = 0; i < 5; i++)
        assert.equal((await post(`${first.url}/events`, ...ev(`r${i}`, { subject: "acct" }))).status, 200);
      await first.close();
      assert.ok(existsSync(join(dir.path, DATABASE_FILE)));

      const second = await start({ dataDir: dir.path });
      try {
        const page = await get<Page>(`${second.url}/events`);
        assert.deepEqual(
          page.body.events.map((e) => [e.position, e.event.id]),
          [0, 1, 2, 3, 4].map((i) => [i + 1, `r${i}`]),
        );
        const dup = await post<Results>(`${second.url}/events`, ...ev("r2", { subject: "acct" }));
        assert.deepEqual(dup.body.results[0], {
          id: "r2",
          source: "/srv",
          position: 3,
          stream: "acct",
          version: 2,
          duplicate: true,
        });
        const next = await post<Results>(`${second.url}/events`, ...ev("r5", { subject: "acct" }));
        assert.equal(next.body.results[0]!.position, 6);
        assert.equal(next.body.results[0]!.version, 5);
      } finally {
        await second.close();
      }
    } finally {
      dir.remove();
    }
  });

  it("answers 404 and 405 as problems", async () => {
    await withServer({}, async ({ url }) => {
      const missing = await get<Problem>(`${url}/nowhere`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.code, "route-not-found");
      assert.equal(missing.headers.get("content-type"), "application/problem+json");
      const method = await fetch(`${url}/events`, { method: "DELETE" });
      assert.equal(method.status, 405);
      assert.match(method.headers.get("allow") ?? "", /POST/);
      assert.equal(((await method.json()) as { code: string }).code, "method-not-allowed");
    });
  });

  it("serves /healthz, /readyz and Prometheus /metrics", async () => {
    await withServer({}, async (server) => {
      assert.deepEqual((await get(`${server.url}/healthz`)).body, { status: "ok", version: server.version });
      const ready = (await get(`${server.url}/readyz`)).body as Record<string, unknown>;
      const { log, ...rest } = ready;
      assert.deepEqual(rest, { status: "ready", version: server.version });
      // The log's identity (a memory log: one epoch from 0).
      assert.deepEqual(Object.keys(log as object).sort(), ["epoch", "epochStart", "id"]);
      assert.equal((log as { epochStart: number }).epochStart, 0);
      assert.match(server.config.nodeId, /^[A-Za-z0-9._-]+-\d+$/, "derived from host name and pid");
      await post(`${server.url}/events`, ...ev("m1"));
      await post(`${server.url}/events`, ...ev("m1"));
      await post(`${server.url}/events`, ...ev("m2"));
      await post(`${server.url}/events`, "nope", { "content-type": "text/plain" });
      const metrics = await fetch(`${server.url}/metrics`);
      assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain/);
      const text = await metrics.text();
      assert.match(text, /^herald_ingest_events_total\{outcome="stored"\} 2$/m);
      assert.match(text, /^herald_ingest_events_total\{outcome="duplicate"\} 1$/m);
      assert.match(text, /^herald_ingest_rejected_requests_total\{status="415"\} 1$/m);
      assert.match(text, /^herald_append_duration_seconds_count 3$/m);
      assert.match(text, /^herald_log_head_position 2$/m);
      assert.match(
        text,
        /herald_http_request_duration_seconds_count\{method="POST",route="\/events",status="200"\} 3/,
      );
      assert.match(text, /^herald_process_cpu_seconds_total/m);
    });
  });

  it("fails clearly when the port is taken, and releases the log", async () => {
    await withServer({}, async (server) => {
      await assert.rejects(
        startServer({ port: server.port, memory: true, logLevel: "silent" }),
        /EADDRINUSE/,
      );
    });
  });

  it("rejects a bad config with ConfigError", async () => {
    await assert.rejects(startServer({ port: -1, memory: true }), { name: "ConfigError" });
  });

  it("writes structured JSON logs", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(
          ...String(chunk)
            .split("\n")
            .filter((l) => l.length > 0),
        );
        done();
      },
    });
    const logger = createLogger("debug", sink);
    const server = await startServer({ port: 0, memory: true, logger });
    await get(`${server.url}/healthz?probe=1`);
    await server.close();
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const listening = records.find((r) => String(r.msg).startsWith("herald listening on "));
    assert.ok(listening, lines.join("\n"));
    assert.equal(listening.url, server.url);
    assert.equal(listening.level, 30);
    assert.equal(typeof listening.time, "string");
    const request = records.find((r) => r.msg === "request");
    assert.ok(request, "debug level logs each request");
    assert.equal(request.url, "/healthz?probe=1");
    assert.equal(request.status, 200);
    assert.ok(records.some((r) => r.msg === "herald stopped"));
  });
});

describe("graceful close", () => {
  it("finishes an in-flight request, refuses new connections, then closes the log", async () => {
    const dir = tempDir();
    try {
      const server = await start({ dataDir: dir.path });
      const [body, headers] = ev("in-flight");
      // Send the headers and half of the body, then start closing (once the connection is up: on a
      // loaded machine a fixed 50 ms could end before the connect, and the close would refuse it).
      let connected!: () => void;
      const isConnected = new Promise<void>((resolve) => {
        connected = resolve;
      });
      const pending = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(`${server.url}/events`, {
          method: "POST",
          headers: { ...headers, "content-length": Buffer.byteLength(body) },
        });
        req.on("response", (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on("error", reject);
        req.on("socket", (socket) => socket.once("connect", connected));
        req.write(body.slice(0, 10));
        isConnected.then(() => setTimeout(() => req.end(body.slice(10)), 150));
      });
      await isConnected;
      await new Promise((r) => setTimeout(r, 50));
      let closed = false;
      const closing = server.close().then(() => {
        closed = true;
      });
      await new Promise((r) => setTimeout(r, 20));
      await assert.rejects(fetch(`${server.url}/healthz`), "new connections are refused while closing");
      assert.equal(closed, false, "close waits for the in-flight request");
      const answer = await pending;
      assert.equal(answer.status, 200, answer.text);
      await closing;
      const reopened = await start({ dataDir: dir.path });
      try {
        const page = await get<Page>(`${reopened.url}/events`);
        assert.deepEqual(
          page.body.events.map((e) => e.event.id),
          ["in-flight"],
        );
      } finally {
        await reopened.close();
      }
    } finally {
      dir.remove();
    }
  });

  it("cuts connections that outlive shutdownDrainMs", async () => {
    const server = await start({ shutdownDrainMs: 100 });
    const stalled = new Promise<string>((resolve) => {
      const req = request(`${server.url}/events`, {
        method: "POST",
        headers: { "content-type": "application/cloudevents+json", "content-length": 1000 },
      });
      req.on("error", (e) => resolve(e.message));
      req.on("response", (res) => resolve(`status ${res.statusCode}`));
      req.write("{");
    });
    await new Promise((r) => setTimeout(r, 30));
    const started = Date.now();
    await server.close();
    assert.ok(Date.now() - started < 2000, "close does not hang");
    assert.match(await stalled, /socket hang up|ECONNRESET/);
  });

  it("close() is idempotent", async () => {
    const server = await start();
    await Promise.all([server.close(), server.close()]);
    await server.close();
  });
});
