// End to end through startServer: the subscription manager is wired in (routes, auth, upgrade, metrics,
// readiness, graceful drain, restart-resume).
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import { describe, it } from "node:test";
import type { ApiKeyConfig } from "@herald/server";
import WebSocket from "ws";
import { get, type Problem, post, start, structured, tempDir, withServer } from "./server-harness.js";

interface Received {
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

/** A webhook sink on a free port: records requests, answers after `delayMs` with `status`. */
async function sink(options: { delayMs?: number; status?: number } = {}) {
  const received: Received[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      setTimeout(() => {
        res.writeHead(options.status ?? 204).end();
        received.push({ headers: req.headers, body });
        for (const w of waiters.filter((w) => received.length >= w.count)) w.resolve();
      }, options.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  return {
    url,
    received,
    /** Resolves once `count` requests were answered (rejects after timeoutMs). */
    until(count: number, timeoutMs = 5000): Promise<void> {
      if (received.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sink got ${received.length}/${count}`)), timeoutMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const createSubscription = (
  url: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) =>
  post<Problem>(`${url}/subscriptions`, JSON.stringify(body), {
    "content-type": "application/json",
    ...headers,
  });

describe("startServer with subscriptions", () => {
  it("pushes published events to a subscribed webhook in binary mode", async () => {
    const hook = await sink();
    try {
      await withServer({}, async ({ url }) => {
        const created = await createSubscription(url, {
          id: "orders",
          sink: hook.url,
          filters: [{ prefix: { type: "order." } }],
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        await post(
          `${url}/events`,
          ...structured({ id: "o1", source: "/shop", type: "order.placed", data: { n: 1 } }),
        );
        await post(`${url}/events`, ...structured({ id: "x1", source: "/shop", type: "cart.updated" }));
        await post(
          `${url}/events`,
          ...structured({ id: "o2", source: "/shop", type: "order.paid", data: { n: 2 } }),
        );
        await hook.until(2);
        assert.deepEqual(hook.received.map((r) => r.headers["ce-id"]).sort(), ["o1", "o2"]);
        assert.deepEqual(JSON.parse(hook.received.find((r) => r.headers["ce-id"] === "o1")!.body), { n: 1 });
        const stats = await get<Record<string, unknown>>(`${url}/subscriptions/orders/stats`);
        assert.equal(stats.status, 200);
        const metrics = await (await fetch(`${url}/metrics`)).text();
        assert.match(metrics, /^herald_subscription_delivered_total\{subscription="orders"\} 2$/m);
        assert.match(metrics, /^herald_subscription_lag\{subscription="orders"\} 0$/m);
      });
    } finally {
      await hook.close();
    }
  });

  it("applies API key scopes to subscription routes and WebSocket upgrades", async () => {
    const keys: ApiKeyConfig[] = [
      { key: "consumer-00001", scopes: ["consume"] },
      { key: "administrator1", scopes: ["admin"] },
    ];
    await withServer({ apiKeys: keys }, async ({ url }) => {
      const consumer = { authorization: "Bearer consumer-00001" };
      const admin = { authorization: "Bearer administrator1" };
      assert.equal((await createSubscription(url, { id: "pulled" })).status, 401);
      assert.equal((await createSubscription(url, { id: "pulled" }, consumer)).status, 403);
      assert.equal((await createSubscription(url, { id: "pulled" }, admin)).status, 201);
      assert.equal((await get(`${url}/subscriptions`, consumer)).status, 403);
      assert.equal((await get(`${url}/subscriptions/pulled/stats`, consumer)).status, 200);
      const pull = await post(`${url}/subscriptions/pulled/pull`, JSON.stringify({ max: 1, waitMs: 0 }), {
        "content-type": "application/json",
        ...consumer,
      });
      assert.equal(pull.status, 200);
      assert.equal(await upgradeStatus(`${url}/subscriptions/pulled/ws?access_token=consumer-00001`), 101);
      assert.equal(await upgradeStatus(`${url}/subscriptions/pulled/ws`), 401);
      assert.equal(await upgradeStatus(`${url}/subscriptions/missing/ws?access_token=consumer-00001`), 404);
    });
  });

  it("resumes a persisted subscription after a restart without skipping", async () => {
    const dir = tempDir();
    const hook = await sink();
    try {
      const first = await start({ dataDir: dir.path });
      assert.equal((await createSubscription(first.url, { id: "audit", sink: hook.url })).status, 201);
      await post(first.url + "/events", ...structured({ id: "a1", source: "/r", type: "t" }));
      await hook.until(1);
      await first.close();
      // Published while no server delivers: picked up after the restart.
      const second = await start({ dataDir: dir.path });
      try {
        assert.equal((await get(`${second.url}/readyz`)).status, 200);
        await post(second.url + "/events", ...structured({ id: "a2", source: "/r", type: "t" }));
        await hook.until(2);
        assert.deepEqual(
          hook.received.map((r) => r.headers["ce-id"]),
          ["a1", "a2"],
        );
      } finally {
        await second.close();
      }
    } finally {
      await hook.close();
      dir.remove();
    }
  });

  it("drains an in-flight push on close and does not deliver it again after a restart", async () => {
    const dir = tempDir();
    const hook = await sink({ delayMs: 300 });
    try {
      const server = await start({ dataDir: dir.path });
      assert.equal((await createSubscription(server.url, { id: "slow", sink: hook.url })).status, 201);
      await post(server.url + "/events", ...structured({ id: "s1", source: "/r", type: "t" }));
      await new Promise((r) => setTimeout(r, 100)); // the push is now waiting on the sink
      const started = Date.now();
      await server.close();
      assert.equal(hook.received.length, 1, "close waited for the sink's answer");
      assert.ok(Date.now() - started >= 150, "close did not return before the push finished");
      const again = await start({ dataDir: dir.path });
      try {
        await new Promise((r) => setTimeout(r, 400));
        assert.equal(hook.received.length, 1, "the acked push is not redelivered");
      } finally {
        await again.close();
      }
    } finally {
      await hook.close();
      dir.remove();
    }
  });

  it("ends an open SSE stream on close", async () => {
    const server = await start({ shutdownDrainMs: 2000 });
    assert.equal((await createSubscription(server.url, { id: "live" })).status, 201);
    const response = await fetch(`${server.url}/subscriptions/live/sse`);
    assert.equal(response.status, 200);
    const reading = response.text().catch((e: Error) => e.message);
    const started = Date.now();
    await server.close();
    await reading;
    assert.ok(Date.now() - started < 1500, `close took ${Date.now() - started} ms`);
  });
});

describe("startServer with WebSocket consumers", () => {
  it("closes an open WebSocket consumer on close", async () => {
    const server = await start({ shutdownDrainMs: 3000 });
    assert.equal((await createSubscription(server.url, { id: "ws-live" })).status, 201);
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/subscriptions/ws-live/ws`);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    const started = Date.now();
    await server.close();
    assert.ok(Date.now() - started < 2000, `close took ${Date.now() - started} ms`);
    await closed;
  });
});

function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}
