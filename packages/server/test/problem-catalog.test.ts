// The problem catalog (@herald/protocol), docs/errors.md and the server's real answers must agree:
// every code has a docs row and every row is a code; every code is answered by a real server.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http, { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createMemoryLog, type EventLog } from "@herald/log";
import { PROBLEM_CODES, PROBLEMS, type ProblemCode, problemType } from "@herald/protocol";
import type { HeraldServer } from "@herald/server";
import { Registry } from "prom-client";
import { registerHealthRoutes } from "../src/http/health.js";
import { Router } from "../src/http/router.js";
import { start } from "./server-harness.js";
import { rawExchange } from "./support/raw-http.js";

const docsPath = new URL("../../../../docs/errors.md", import.meta.url);

function docsCodes(): string[] {
  const codes: string[] = [];
  for (const line of readFileSync(docsPath, "utf8").split("\n")) {
    const match = /^\| `([^`]+)` \| (\d{3}) \|/.exec(line);
    if (match) codes.push(match[1]!);
  }
  return codes;
}

describe("docs/errors.md and the catalog", () => {
  it("has one row per catalog code, and every row is a catalog code with its status", () => {
    const rows = docsCodes();
    assert.equal(new Set(rows).size, rows.length, "a code has two rows");
    assert.deepEqual(
      PROBLEM_CODES.filter((c) => !rows.includes(c)),
      [],
      "catalog codes missing from docs/errors.md",
    );
    assert.deepEqual(
      rows.filter((c) => !(PROBLEM_CODES as readonly string[]).includes(c)),
      [],
      "docs rows that are not catalog codes",
    );
    const text = readFileSync(docsPath, "utf8");
    for (const code of PROBLEM_CODES) {
      assert.ok(text.includes(`| \`${code}\` | ${PROBLEMS[code].status} | ${PROBLEMS[code].title} |`), code);
    }
  });
});

interface Raw {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP exchange with node:http (fetch cannot send every header or an upgrade). */
function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? "GET", headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A WebSocket upgrade the server refuses: node hands a non-101 answer to 'response'. */
function upgrade(url: string): Promise<Raw> {
  return request(url, {
    headers: {
      connection: "Upgrade",
      upgrade: "websocket",
      "sec-websocket-version": "13",
      "sec-websocket-key": Buffer.from("0123456789abcdef").toString("base64"),
    },
  });
}

const json = (body: unknown): { headers: Record<string, string>; body: string } => ({
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});
const ce = (event: Record<string, unknown>, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/cloudevents+json", ...headers },
  body: JSON.stringify({ specversion: "1.0", id: "e-1", source: "/test", type: "com.ok.thing", ...event }),
});

interface Servers {
  open: HeraldServer;
  auth: HeraldServer;
  closedLog: HeraldServer;
  /** Gives a request 300 ms to arrive. */
  slow: HeraldServer;
  probe: string;
}

/** A request (or setup + request) that makes the server answer `code`. */
type Case = (s: Servers) => Promise<Raw>;

const LIMITS = { maxBodyBytes: 4096, maxBatchLength: 2, maxAttributeBytes: 64 };

const CASES: Partial<Record<ProblemCode, Case>> = {
  "json-invalid": (s) =>
    request(`${s.open.url}/subscriptions`, { method: "POST", headers: json(0).headers, body: "{" }),
  "body-invalid": (s) =>
    request(`${s.open.url}/subscriptions/pull-sub/pull`, { method: "POST", ...json([1]) }),
  "event-malformed": (s) =>
    request(`${s.open.url}/events`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents+json" },
      body: "not json",
    }),
  "attribute-too-large": (s) => request(`${s.open.url}/events`, ce({ subject: "x".repeat(65) })),
  "extension-name-too-long": (s) => request(`${s.open.url}/events`, ce({ ["e".repeat(65)]: "v" })),
  "unsupported-encoding": (s) => request(`${s.open.url}/events`, ce({}, { "content-encoding": "compress" })),
  "json-too-deep": (s) =>
    request(`${s.open.url}/events`, {
      method: "POST",
      headers: { "content-type": "application/json", "ce-specversion": "1.0", "ce-id": "deep" },
      body: `${"[".repeat(100)}${"]".repeat(100)}`,
    }),
  "storage-full": (s) => request(`${s.open.url}/streams/full-disk`, ce({})),
  "storage-unavailable": (s) => request(`${s.open.url}/streams/busy-disk`, ce({})),
  "system-stream-reserved": (s) => request(`${s.open.url}/streams/%24mine`, ce({})),
  "stream-name-invalid": (s) => request(`${s.open.url}/streams/${"s".repeat(65)}`, ce({})),
  "expected-version-invalid": (s) =>
    request(`${s.open.url}/streams/ev`, ce({}, { "herald-expected-version": "latest" })),
  "expected-version-not-allowed": (s) =>
    request(`${s.open.url}/events`, ce({}, { "herald-expected-version": "0" })),
  "query-invalid": (s) => request(`${s.open.url}/events?limit=abc`),
  "filter-invalid": (s) => request(`${s.open.url}/events?filter=${encodeURIComponent("type = ")}`),
  "path-invalid": (s) => upgrade(`${s.open.url}/subscriptions/%E0%A4%A/ws`),
  "subscription-invalid": (s) =>
    request(`${s.open.url}/subscriptions`, { method: "POST", ...json({ id: "bad", bogus: 1 }) }),
  "sink-refused": (s) =>
    request(`${s.open.url}/subscriptions`, {
      method: "POST",
      ...json({ id: "metadata", sink: "http://169.254.169.254/latest" }),
    }),
  "bridge-sink-invalid": (s) =>
    request(`${s.open.url}/subscriptions`, {
      method: "POST",
      ...json({ id: "bad-bridge", sink: "amqp://127.0.0.1:5672/" }),
    }),
  "redrive-invalid": (s) =>
    request(`${s.open.url}/subscriptions/pull-sub/dead-letters/redrive`, {
      method: "POST",
      ...json({ from: -1 }),
    }),
  "reset-invalid": (s) =>
    request(`${s.open.url}/subscriptions/pull-sub/reset`, {
      method: "POST",
      ...json({ to: "beginning", position: 3 }),
    }),
  "scheduled-batch-mixed": (s) =>
    request(`${s.open.url}/events`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents-batch+json" },
      body: JSON.stringify([
        { specversion: "1.0", id: "m-1", source: "/test", type: "t", deliverat: "2999-01-01T00:00:00Z" },
        { specversion: "1.0", id: "m-2", source: "/test", type: "t" },
      ]),
    }),
  "scheduled-expected-version": (s) =>
    request(
      `${s.open.url}/streams/sched-ev`,
      ce({ deliverat: "2999-01-01T00:00:00Z" }, { "herald-expected-version": "no-stream" }),
    ),
  "scheduled-not-found": (s) => request(`${s.open.url}/scheduled?source=%2Fnone&id=x`, { method: "DELETE" }),
  "scheduled-already-released": async (s) => {
    await request(`${s.open.url}/events`, ce({ id: "released-1" }));
    return request(`${s.open.url}/scheduled?source=%2Ftest&id=released-1`, { method: "DELETE" });
  },
  unauthorized: (s) => request(`${s.auth.url}/events`),
  "api-key-invalid": (s) => request(`${s.auth.url}/events`, { headers: { authorization: "Bearer nope" } }),
  forbidden: (s) => request(`${s.auth.url}/events`, ce({}, { authorization: "Bearer consume-key" })),
  "event-type-forbidden": (s) =>
    request(`${s.auth.url}/events`, ce({ type: "com.other.thing" }, { authorization: "Bearer publish-key" })),
  "route-not-found": (s) => request(`${s.open.url}/nowhere`),
  "stream-not-found": (s) => request(`${s.open.url}/streams/never-written`),
  "subscription-not-found": (s) => request(`${s.open.url}/subscriptions/nobody`),
  "event-not-found": (s) => request(`${s.open.url}/events/lineage?source=%2Fnowhere&id=nobody`),
  "method-not-allowed": (s) => request(`${s.open.url}/events`, { method: "DELETE" }),
  "stream-version-conflict": async (s) => {
    await request(`${s.open.url}/streams/conflict`, ce({ id: "c-1" }));
    return request(
      `${s.open.url}/streams/conflict`,
      ce({ id: "c-2" }, { "herald-expected-version": "no-stream" }),
    );
  },
  "stream-deleted": async (s) => {
    await request(`${s.open.url}/streams/doomed`, ce({ id: "d-1" }));
    await s.open.log.deleteStream("doomed");
    return request(`${s.open.url}/streams/doomed`, ce({ id: "d-2" }));
  },
  "hard-delete-disabled": async (s) => {
    await request(`${s.slow.url}/streams/kept-forever`, ce({ id: "h-1" }));
    return request(`${s.slow.url}/streams/kept-forever?hard=true`, { method: "DELETE" });
  },
  "duplicate-subscription": (s) =>
    request(`${s.open.url}/subscriptions`, { method: "POST", ...json({ id: "pull-sub" }) }),
  "subscription-mode-conflict": (s) =>
    request(`${s.open.url}/subscriptions/push-sub/pull`, { method: "POST", ...json({}) }),
  "payload-too-large": (s) => request(`${s.open.url}/events`, ce({ data: "x".repeat(5000) })),
  "batch-too-large": (s) =>
    request(`${s.open.url}/events`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents-batch+json" },
      body: JSON.stringify(
        [1, 2, 3].map((i) => ({ specversion: "1.0", id: `b-${i}`, source: "/test", type: "com.ok.thing" })),
      ),
    }),
  "unsupported-media-type": (s) =>
    request(`${s.open.url}/events`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "hi",
    }),
  "event-invalid": (s) => request(`${s.open.url}/events`, ce({ source: "" })),
  "schema-invalid": (s) =>
    request(`${s.open.url}/schemas/com.schema.bad`, {
      method: "PUT",
      ...json({ $ref: "https://example.com/other.json" }),
    }),
  "schema-not-found": (s) => request(`${s.open.url}/schemas/com.schema.never`),
  "schema-incompatible": async (s) => {
    const put = (schema: unknown) =>
      request(`${s.open.url}/schemas/com.schema.evolving`, { method: "PUT", ...json(schema) });
    assert.equal((await put({ type: "object" })).status, 201);
    return put({ type: "object", required: ["id"] });
  },
  "event-schema-mismatch": async (s) => {
    const put = await request(`${s.open.url}/schemas/com.schema.enforced`, {
      method: "PUT",
      ...json({ type: "object", required: ["id"] }),
    });
    assert.equal(put.status, 201);
    return request(`${s.open.url}/events`, ce({ id: "m-1", type: "com.schema.enforced", data: {} }));
  },
  "internal-error": (s) => request(`${s.open.url}/streams/explode`),
  // Refused by node's parser before routing: raw bytes no client library sends.
  "bad-request": (s) =>
    rawExchange(s.open.url, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n"),
  "headers-too-large": (s) =>
    rawExchange(s.open.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`),
  "request-timeout": (s) =>
    rawExchange(s.slow.url, "POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{"),
  "not-ready": (s) => request(`${s.probe}/readyz`),
  "shutting-down": (s) => request(`${s.closedLog.url}/events`, ce({})),
};

/**
 * A memory log whose reads of stream `explode` fail the way a broken backend would, and whose appends
 * to `full-disk` / `busy-disk` fail with SQLite's codes for a full disk / a locked database.
 */
function explodingLog(): EventLog {
  const log = createMemoryLog();
  const sqliteError = (code: string) => Object.assign(new Error(code), { code });
  return new Proxy(log, {
    get(target, name, receiver) {
      if (name === "append") {
        return (events: Parameters<EventLog["append"]>[0], options?: Parameters<EventLog["append"]>[1]) => {
          if (options?.stream === "full-disk") return Promise.reject(sqliteError("SQLITE_FULL"));
          if (options?.stream === "busy-disk") return Promise.reject(sqliteError("SQLITE_BUSY"));
          return target.append(events, options);
        };
      }
      if (name === "readStream") {
        return (stream: string, options?: unknown) => {
          if (stream === "explode") return Promise.reject(new Error("disk on fire"));
          return (target.readStream as (s: string, o?: unknown) => unknown).call(target, stream, options);
        };
      }
      const value = Reflect.get(target, name, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("every problem code is answered by a real server", () => {
  let servers: Servers;
  let openLog: EventLog;
  let closedLog: EventLog;
  let probe: http.Server;

  before(async () => {
    openLog = explodingLog();
    closedLog = createMemoryLog();
    const open = await start({ log: openLog, limits: LIMITS, schemas: { enforce: true } });
    const auth = await start({
      apiKeys: [
        { key: "consume-key", scopes: ["consume"] },
        { key: "publish-key", scopes: ["publish"], typePrefixes: ["com.ok."] },
      ],
    });
    const closed = await start({ log: closedLog });
    const slow = await start({ limits: { requestTimeoutMs: 300 }, retention: { hardDelete: false } });
    await closedLog.close();
    // Readiness flips only while subscriptions load, before startServer listens: the health routes
    // are served here by the server's own router on a real HTTP server, told that they are loading.
    const router = new Router();
    registerHealthRoutes(router, {
      registry: new Registry(),
      version: "0.0.0-test",
      notReadyReasons: () => ["subscriptions loading"],
    });
    probe = createServer((req, res) => void router.handle(req, res));
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    servers = {
      open,
      auth,
      closedLog: closed,
      slow,
      probe: `http://127.0.0.1:${(probe.address() as AddressInfo).port}`,
    };
    const made = await Promise.all([
      request(`${open.url}/subscriptions`, { method: "POST", ...json({ id: "pull-sub" }) }),
      request(`${open.url}/subscriptions`, {
        method: "POST",
        ...json({ id: "push-sub", sink: "http://127.0.0.1:9/hook" }),
      }),
    ]);
    assert.deepEqual(
      made.map((m) => m.status),
      [201, 201],
    );
  });

  after(async () => {
    await Promise.all([
      servers.open.close(),
      servers.auth.close(),
      servers.closedLog.close(),
      servers.slow.close(),
    ]);
    await openLog.close();
    await new Promise((resolve) => probe.close(resolve));
  });

  it("provokes every code", () => {
    const provoked = Object.keys(CASES);
    assert.deepEqual(
      PROBLEM_CODES.filter((c) => PROBLEMS[c].answeredBy === "server" && !provoked.includes(c)),
      [],
      "codes with no request that provokes them",
    );
  });

  for (const code of PROBLEM_CODES) {
    const provoke = CASES[code];
    // event-source codes are provoked by packages/service/test/problems.test.ts.
    if (provoke === undefined || PROBLEMS[code].answeredBy !== "server") continue;
    it(`${code}: ${PROBLEMS[code].status}`, async () => {
      const answer = await provoke(servers);
      assert.equal(answer.status, PROBLEMS[code].status, answer.body);
      assert.match(String(answer.headers["content-type"]), /^application\/problem\+json/);
      const body = JSON.parse(answer.body) as Record<string, unknown>;
      assert.equal(body.code, code, answer.body);
      assert.equal(body.type, problemType(code));
      assert.equal(body.title, PROBLEMS[code].title);
      assert.equal(body.status, PROBLEMS[code].status);
      assert.equal(typeof body.detail, "string");
    });
  }
});
