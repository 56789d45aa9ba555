// WebSocket ingest (`/events/ws`) against a real server: an answer per frame with the positions
// `POST /events` would give, dedupe by source+id, problem frames with catalog codes that leave the
// connection usable, the frame size limit, auth at the upgrade, 1000 pipelined frames, and a shutdown
// that answers every frame it started (stored ⇔ answered).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryLog, type EventLog } from "@herald/log";
import { PROBLEMS, WS_INGEST_MAX_IN_FLIGHT, type WsPublishServerFrame } from "@herald/protocol";
import type { ApiKeyConfig, HeraldServer } from "@herald/server";
import WebSocket from "ws";
import { post, start, structured, withServer } from "./server-harness.js";

/** A test client: frames out, answers collected by id. */
class IngestClient {
  readonly answers = new Map<string | null, WsPublishServerFrame>();
  readonly closed: Promise<number>;
  private readonly waiters = new Map<string, (frame: WsPublishServerFrame) => void>();
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (raw) => {
      const frame = JSON.parse(raw.toString()) as WsPublishServerFrame;
      this.answers.set(frame.id, frame);
      if (frame.id !== null) this.waiters.get(frame.id)?.(frame);
    });
    this.closed = new Promise((resolve) => ws.once("close", (code) => resolve(code)));
  }

  static open(server: HeraldServer, headers: Record<string, string> = {}): Promise<IngestClient> {
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/events/ws`, { headers });
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new IngestClient(ws)));
      ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once("error", reject);
    });
  }

  /** Sends a raw frame; resolves with the answer to `id`. */
  raw(id: string, text: string): Promise<WsPublishServerFrame> {
    const answer = new Promise<WsPublishServerFrame>((resolve) => this.waiters.set(id, resolve));
    this.ws.send(text);
    return answer;
  }

  send(id: string, event: Record<string, unknown>): Promise<WsPublishServerFrame> {
    return this.raw(id, JSON.stringify({ id, event: { specversion: "1.0", ...event } }));
  }

  /** Resolves with the next answer whose id is null (an unreadable frame). */
  nextUnreadable(text: string): Promise<WsPublishServerFrame> {
    return new Promise((resolve) => {
      const onMessage = (raw: WebSocket.RawData) => {
        const frame = JSON.parse(raw.toString()) as WsPublishServerFrame;
        if (frame.id !== null) return;
        this.ws.off("message", onMessage);
        resolve(frame);
      };
      this.ws.on("message", onMessage);
      this.ws.send(text);
    });
  }
}

const results = (frame: WsPublishServerFrame) => {
  assert.ok("results" in frame, `an ack frame, got ${JSON.stringify(frame)}`);
  return frame.results;
};
const problem = (frame: WsPublishServerFrame) => {
  assert.ok("problem" in frame, `a problem frame, got ${JSON.stringify(frame)}`);
  return frame.problem;
};

/** Status of a refused upgrade. */
function upgradeStatus(server: HeraldServer, headers: Record<string, string>): Promise<number> {
  const ws = new WebSocket(`${server.url.replace("http", "ws")}/events/ws`, { headers });
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      ws.close();
      resolve(101);
    });
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("error", reject);
  });
}

describe("WebSocket ingest", () => {
  it("answers each frame with the results POST /events gives, batches atomic, in log order", async () => {
    await withServer({}, async (server) => {
      const client = await IngestClient.open(server);
      const a = results(await client.send("a", { id: "e1", source: "/ws", type: "t.a", subject: "s/1" }));
      const b = results(await client.send("b", { id: "e2", source: "/ws", type: "t.b", subject: "s/1" }));
      assert.deepEqual(a, [
        { id: "e1", source: "/ws", position: 1, stream: "s/1", version: 0, duplicate: false },
      ]);
      assert.deepEqual(b, [
        { id: "e2", source: "/ws", position: 2, stream: "s/1", version: 1, duplicate: false },
      ]);
      const events = [
        { specversion: "1.0", id: "e3", source: "/ws", type: "t.c" },
        { specversion: "1.0", id: "e4", source: "/ws", type: "t.c" },
      ];
      const batch = results(await client.raw("c", JSON.stringify({ id: "c", events })));
      assert.deepEqual(
        batch.map((r) => [r.id, r.position, r.stream, r.version]),
        [
          ["e3", 3, "/ws", 0],
          ["e4", 4, "/ws", 1],
        ],
      );
      // The same event over HTTP is the duplicate of what the WebSocket stored, and vice versa.
      const [body, headers] = structured({ id: "e1", source: "/ws", type: "t.a", subject: "s/1" });
      const http = await post<{ results: unknown[] }>(`${server.url}/events`, body, headers);
      assert.deepEqual(http.body.results, [{ ...a[0], duplicate: true }]);
      const again = results(await client.send("d", { id: "e2", source: "/ws", type: "t.b", subject: "s/1" }));
      assert.deepEqual(again, [{ ...b[0], duplicate: true }]);
      // Another source with the same id is another event.
      const other = results(await client.send("e", { id: "e2", source: "/other", type: "t.b" }));
      assert.equal(other[0]!.duplicate, false);
      assert.equal(other[0]!.position, 5);
      client.ws.close();
    });
  });

  it("refuses bad frames with catalog problems and stays usable", async () => {
    await withServer({ limits: { maxBodyBytes: 2048, maxBatchLength: 2 } }, async (server) => {
      const client = await IngestClient.open(server);
      const cases: Array<[string, Promise<WsPublishServerFrame>, keyof typeof PROBLEMS]> = [
        ["no type", client.send("p1", { id: "x", source: "/ws" }), "event-invalid"],
        [
          "system stream",
          client.send("p2", { id: "x", source: "/ws", type: "t", subject: "$deadletter-x" }),
          "system-stream-reserved",
        ],
        [
          "too large",
          client.send("p3", { id: "x", source: "/ws", type: "t", data: "x".repeat(3000) }),
          "payload-too-large",
        ],
        [
          "batch too long",
          client.raw(
            "p4",
            JSON.stringify({
              id: "p4",
              events: [1, 2, 3].map((i) => ({ specversion: "1.0", id: `b${i}`, source: "/ws", type: "t" })),
            }),
          ),
          "batch-too-large",
        ],
        ["both event and events", client.raw("p5", '{"id":"p5","event":{},"events":[]}'), "body-invalid"],
        ["batch not an array", client.raw("p6", '{"id":"p6","events":{}}'), "event-malformed"],
      ];
      for (const [what, answer, code] of cases) {
        const p = problem(await answer);
        assert.equal(p.code, code, what);
        assert.equal(p.status, PROBLEMS[code].status, what);
        assert.equal(p.title, PROBLEMS[code].title, what);
        assert.equal(typeof p.detail, "string", what);
      }
      const unreadable = problem(await client.nextUnreadable("{not json"));
      assert.equal(unreadable.code, "json-invalid");
      const noId = problem(await client.nextUnreadable('{"event":{}}'));
      assert.equal(noId.code, "body-invalid");
      // Nothing of the refused frames was stored; the connection still takes events.
      const ok = results(await client.send("ok", { id: "fine", source: "/ws", type: "t" }));
      assert.equal(ok[0]!.position, 1);
      client.ws.close();
    });
  });

  it("checks the key at the upgrade (401, 403) and its type prefixes per frame", async () => {
    const keys: ApiKeyConfig[] = [
      { key: "publisher-0001", scopes: ["publish"] },
      { key: "orders-publisher", scopes: ["publish"], typePrefixes: ["com.acme.orders."] },
      { key: "consumer-00001", scopes: ["consume"] },
    ];
    await withServer({ apiKeys: keys }, async (server) => {
      assert.equal(await upgradeStatus(server, {}), 401);
      assert.equal(await upgradeStatus(server, { authorization: "Bearer nope-nope-nope" }), 401);
      assert.equal(await upgradeStatus(server, { authorization: "Bearer consumer-00001" }), 403);
      assert.equal(await upgradeStatus(server, { authorization: "Bearer publisher-0001" }), 101);
      const client = await IngestClient.open(server, { authorization: "Bearer orders-publisher" });
      const refused = problem(await client.send("f", { id: "1", source: "/ws", type: "com.acme.carts.x" }));
      assert.equal(refused.code, "event-type-forbidden");
      results(await client.send("g", { id: "2", source: "/ws", type: "com.acme.orders.placed" }));
      client.ws.close();
    });
  });

  it("pipelines 1000 frames: every one answered, positions gapless", async () => {
    await withServer({}, async (server) => {
      const client = await IngestClient.open(server);
      const answers = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          client.send(`f${i}`, { id: `p${i}`, source: "/pipe", type: "t" }),
        ),
      );
      const positions = answers.map((a) => results(a)[0]!.position).sort((x, y) => x - y);
      assert.deepEqual(
        positions,
        Array.from({ length: 1000 }, (_, i) => i + 1),
      );
      // Each answer names its own event.
      for (const [i, a] of answers.entries()) assert.equal(results(a)[0]!.id, `p${i}`);
      client.ws.close();
    });
  });

  it("on shutdown answers every frame it started, then closes with 1001", async () => {
    const log = createMemoryLog({ retentionIntervalMs: 0 });
    const server = await start({ log });
    const client = await IngestClient.open(server);
    for (let i = 0; i < 500; i++) void client.send(`s${i}`, { id: `s${i}`, source: "/shut", type: "t" });
    // Some frames are on the server, some still on their way when the shutdown begins.
    await new Promise<void>((resolve) => {
      const check = () => (client.answers.size > 0 ? resolve() : setImmediate(check));
      check();
    });
    await server.close();
    assert.equal(await client.closed, 1001);
    const stored = await log.headPosition();
    const acked = [...client.answers.values()].filter((a) => "results" in a).length;
    assert.ok(acked > 0);
    assert.equal(stored, acked, "an event is stored exactly when its frame was answered");
    await log.close();
  });

  it(`reads no more than ${WS_INGEST_MAX_IN_FLIGHT} unanswered frames per connection, then resumes`, async () => {
    // A log whose appends wait for a gate: every frame read is an append in progress.
    const inner = createMemoryLog({ retentionIntervalMs: 0 });
    let pending = 0;
    let most = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const log = new Proxy(inner, {
      get(target, name) {
        if (name !== "append") {
          // The log's methods use private fields: call them on the log itself, not on the proxy.
          const value: unknown = Reflect.get(target, name, target);
          return typeof value === "function" ? value.bind(target) : value;
        }
        return async (...args: Parameters<EventLog["append"]>) => {
          pending++;
          most = Math.max(most, pending);
          await gate;
          pending--;
          return target.append(...args);
        };
      },
    });
    const server = await start({ log });
    try {
      const client = await IngestClient.open(server);
      const total = WS_INGEST_MAX_IN_FLIGHT + 500;
      const answers = Array.from({ length: total }, (_, i) =>
        client.send(`b${i}`, { id: `b${i}`, source: "/bp", type: "t" }),
      );
      const deadline = Date.now() + 10_000;
      while (pending < WS_INGEST_MAX_IN_FLIGHT && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      assert.equal(pending, WS_INGEST_MAX_IN_FLIGHT, "the server read up to the bound");
      open();
      const all = await Promise.all(answers);
      assert.equal(all.filter((a) => "results" in a).length, total);
      assert.equal(most, WS_INGEST_MAX_IN_FLIGHT, "never more unanswered frames than the bound");
      client.ws.close();
    } finally {
      open();
      await server.close();
      await inner.close();
    }
  });
});
