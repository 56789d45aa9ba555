// Running Herald for real, over real servers: the index at `/` and the version, background retention
// and how it meets subscriptions, and the log lines an operator pages on (dead letters, failing sinks).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, describe, it } from "node:test";
import {
  createLogger,
  formatPretty,
  type HeraldServer,
  resolveLogFormat,
  type StartServerOptions,
  startServer,
} from "@herald/server";
import { ack, createSubscription, pull } from "./support/consumer.js";
import { api, waitFor } from "./support/harness.js";
import { startSink } from "./support/sink.js";

/** The version in the server package's package.json, read here on its own. */
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

type LogRecord = Record<string, unknown> & { msg: string; level: number };

/** A server whose log records (JSON, info and up) are collected in `records`. */
async function start(
  options: StartServerOptions = {},
): Promise<{ server: HeraldServer; records: LogRecord[] }> {
  const records: LogRecord[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line !== "") records.push(JSON.parse(line));
      done();
    },
  });
  const server = await startServer({ port: 0, memory: true, logger: createLogger("info", sink), ...options });
  return { server, records };
}

const servers: HeraldServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
async function running(options: StartServerOptions = {}) {
  const started = await start(options);
  servers.push(started.server);
  return started;
}

async function appendTo(url: string, stream: string, count: number, type = "ops.thing"): Promise<void> {
  const events = Array.from({ length: count }, (_, i) => ({
    specversion: "1.0",
    id: `${stream}-${i}`,
    source: "/ops-test",
    type,
  }));
  const res = await fetch(`${url}/streams/${encodeURIComponent(stream)}`, {
    method: "POST",
    headers: { "content-type": "application/cloudevents-batch+json" },
    body: JSON.stringify(events),
  });
  assert.equal(res.status, 200, await res.text());
}

async function streamVersions(url: string, stream: string): Promise<number[]> {
  const res = await api(url, "GET", `/streams/${encodeURIComponent(stream)}?limit=100`);
  if (res.status === 404) return [];
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as { events: Array<{ version: number }> }).events.map((e) => e.version);
}

describe("index and version", () => {
  it("GET / answers name, version and links; every answer carries Herald-Version", async () => {
    // Without the console (console-hosting.test.ts checks `links.console`).
    const { server } = await running({
      apiKeys: [{ key: "admin-key-0001", scopes: ["admin"] }],
      console: { enabled: false },
    });
    assert.equal(server.version, PACKAGE_VERSION);
    const index = await fetch(`${server.url}/`);
    assert.equal(index.status, 200, "the index is public like /healthz");
    assert.deepEqual(await index.json(), {
      name: "herald",
      version: PACKAGE_VERSION,
      links: { health: "/healthz", ready: "/readyz", metrics: "/metrics" },
    });
    assert.equal(index.headers.get("herald-version"), PACKAGE_VERSION);
    const health = await fetch(`${server.url}/healthz`);
    assert.deepEqual(await health.json(), { status: "ok", version: PACKAGE_VERSION });
    const refused = await fetch(`${server.url}/events`);
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get("herald-version"), PACKAGE_VERSION, "problems carry it too");
    const missing = await fetch(`${server.url}/nowhere`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("herald-version"), PACKAGE_VERSION);
  });
});

describe("retention", () => {
  it("max count per stream prefix: drops the oldest events of covered streams only", async () => {
    const { server, records } = await running({
      retention: { rules: [{ streamPrefix: "tmp-", maxCount: 2 }], interval: 3_600_000 },
    });
    await appendTo(server.url, "tmp-a", 5);
    await appendTo(server.url, "keep-a", 5);
    const report = await server.runRetention();
    assert.equal(report.deleted, 3);
    assert.deepEqual(await streamVersions(server.url, "tmp-a"), [3, 4]);
    assert.deepEqual(await streamVersions(server.url, "keep-a"), [0, 1, 2, 3, 4]);
    assert.ok(records.some((r) => r.msg === "retention deleted 3 events"));
    // Versions go on where they were: retention never makes a stream younger.
    await appendTo(server.url, "tmp-a", 1);
    assert.deepEqual(await streamVersions(server.url, "tmp-a"), [3, 4, 5]);
  });

  it("applies to the SQLite log too, from the command-line form (every stream)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "herald-retention-"));
    try {
      const { server } = await start({ storage: "sqlite", dataDir: dir, retention: { maxCount: 1 } });
      try {
        await appendTo(server.url, "s-1", 3);
        await appendTo(server.url, "s-2", 2);
        assert.equal((await server.runRetention()).deleted, 3);
        assert.deepEqual(await streamVersions(server.url, "s-1"), [2]);
        assert.deepEqual(await streamVersions(server.url, "s-2"), [1]);
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("max age by event type runs in the background on the interval", async () => {
    const { server } = await running({
      retention: { rules: [{ type: "ops.short", maxAgeMs: 0 }], interval: 1000 },
    });
    await appendTo(server.url, "short", 3, "ops.short");
    await appendTo(server.url, "long", 3, "ops.long");
    await waitFor(
      async () => ((await streamVersions(server.url, "short")).length === 0 ? true : undefined),
      5000,
      "the background pass",
    );
    assert.deepEqual(await streamVersions(server.url, "long"), [0, 1, 2]);
  });

  it("an age rule waits for subscriptions to ack; with dropUnacked it does not, and says so", async () => {
    const { server, records } = await running({
      retention: {
        rules: [
          { streamPrefix: "kept-", maxAgeMs: 0 },
          { streamPrefix: "dropped-", maxAgeMs: 0, dropUnacked: true },
        ],
        interval: 3_600_000,
      },
    });
    await createSubscription(server.url, {
      id: "slow",
      types: ["ops.kept"],
      config: { start: "beginning", ordering: "none" },
    });
    await appendTo(server.url, "kept-1", 3, "ops.kept");
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await server.runRetention()).deleted, 0, "nothing acked yet");
    assert.deepEqual(await streamVersions(server.url, "kept-1"), [0, 1, 2]);

    const messages = await pull(server.url, "slow", 10, 1000);
    assert.equal(messages.length, 3);
    assert.equal(await ack(server.url, "slow", messages), 3);
    // Checkpoints are persisted shortly after the ack; then the acked events may go.
    await waitFor(
      async () => ((await server.runRetention()).deleted === 3 ? true : undefined),
      5000,
      "deletion",
    );
    assert.deepEqual(await streamVersions(server.url, "kept-1"), []);

    await createSubscription(server.url, { id: "behind", types: ["ops.dropped"], config: { start: "now" } });
    await appendTo(server.url, "dropped-1", 4, "ops.dropped");
    // "slow" reads past these (they do not match it) and persists its checkpoint within 100 ms; "behind"
    // has them pending with no consumer.
    await new Promise((r) => setTimeout(r, 400));
    const report = await server.runRetention();
    assert.equal(report.deleted, 4);
    assert.deepEqual(report.overtaken, [{ subscription: "behind", skipped: 4 }]);
    const warning = records.find((r) => r.level === 40 && r.subscription === "behind");
    assert.ok(warning, JSON.stringify(records));
    assert.match(warning.msg, /retention dropped events past the subscription's checkpoint/);
  });
});

describe("log format", () => {
  it("auto is pretty on a terminal and JSON otherwise", () => {
    assert.equal(resolveLogFormat("auto", { isTTY: true }), "pretty");
    assert.equal(resolveLogFormat("auto", {}), "json");
    assert.equal(resolveLogFormat("json", { isTTY: true }), "json");
    assert.equal(resolveLogFormat("pretty", {}), "pretty");
  });

  it("pretty lines: info reads alone, warnings carry their fields", () => {
    const base = { time: "2026-01-01T00:00:00.000Z", pid: 1, hostname: "h", service: "herald" };
    assert.equal(formatPretty({ ...base, level: 30, msg: "herald stopped", url: "x" }), "herald stopped");
    assert.equal(
      formatPretty({
        ...base,
        level: 40,
        msg: "event dead-lettered",
        subscription: "billing",
        attempts: 3,
        error: "sink answered 500",
      }),
      'warning: event dead-lettered subscription=billing attempts=3 error="sink answered 500"',
    );
    assert.equal(
      formatPretty({ ...base, level: 50, msg: "request failed", err: { message: "boom", stack: "…" } }),
      'error: request failed err="boom"',
    );
  });
});

describe("delivery logs", () => {
  it("one line per dead-lettered event, with the subscription and the reason", async () => {
    const { server, records } = await running();
    await createSubscription(server.url, {
      id: "fragile",
      types: ["ops.fragile"],
      config: { maxDeliveries: 1 },
    });
    await appendTo(server.url, "fragile-1", 1, "ops.fragile");
    const [message] = await pull(server.url, "fragile", 1, 2000);
    assert.ok(message);
    const nack = await api(server.url, "POST", "/subscriptions/fragile/nack", { ackIds: [message.ackId] });
    assert.equal(nack.status, 200);
    const line = await waitFor(() => records.find((r) => r.msg === "event dead-lettered"), 5000, "the line");
    assert.equal(line.level, 40);
    assert.equal(line.subscription, "fragile");
    assert.equal(line.reason, "max-deliveries");
    assert.equal(line.stream, "fragile-1");
    assert.equal(line.error, "negatively acknowledged");
  });

  it("a failing sink is logged when it starts and when it stops failing, not per attempt", async () => {
    let failuresLeft = 6;
    const target = await startSink((_req, res) => {
      res.writeHead(failuresLeft-- > 0 ? 503 : 204);
      res.end();
    });
    try {
      const { server, records } = await running();
      await createSubscription(server.url, {
        id: "flaky",
        sink: target.url,
        types: ["ops.flaky"],
        config: { maxDeliveries: 50, backoff: { baseMs: 1, capMs: 5 } },
      });
      await appendTo(server.url, "flaky-1", 1, "ops.flaky");
      const recovered = await waitFor(
        () => records.find((r) => r.msg.startsWith("sink of subscription flaky recovered")),
        10_000,
        "recovery line",
      );
      assert.equal(recovered.failures, 6);
      assert.equal(target.received.length, 7);
      const failing = records.filter((r) => r.subscription === "flaky" && r.level === 40);
      assert.equal(failing.length, 1, JSON.stringify(failing));
      assert.equal(failing[0]?.msg, "sink failing; deliveries will be retried");
      assert.equal(failing[0]?.status, 503);
    } finally {
      await target.close();
    }
  });
});
