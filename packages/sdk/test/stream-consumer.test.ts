// Streaming consumers against scripted brokers (plain node:http / ws servers) for what a real one
// will not do on demand: fall silent (heartbeat timeout), answer 503 then 404, send a broken frame.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import { ConsumerRejectedError, HeraldClient } from "@herald/sdk";
import { WebSocketServer } from "ws";
import { until } from "./support/wait.js";

const quiet = { onError: () => {}, reconnect: { baseMs: 1, capMs: 10 } };

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function shut(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers) await close();
});

describe("sse consumer against a scripted broker", () => {
  test("a silent stream (no heartbeat) is dropped and reopened", async () => {
    let connections = 0;
    const { server, url } = await listen((req, res) => {
      if (req.url?.startsWith("/subscriptions/quiet/sse")) {
        connections++;
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(": connected\n\n");
        return; // …and then nothing
      }
      res.writeHead(404).end();
    });
    const client = new HeraldClient({ url });
    closers.push(() => shut(server));
    const consumer = client.subscribe("quiet", () => {}, {
      transport: "sse",
      heartbeatTimeoutMs: 80,
      ...quiet,
    });
    await until(() => consumer.stats.reconnects >= 2, 5_000, "two reconnections");
    await consumer.stop();
    await client.close();
    assert.ok(connections >= 3);
  });

  test("503 is retried, 404 ends the consumer; the key goes as a bearer header, the frame is asked for", async () => {
    const seen: Array<{ status: number; url: string; auth: string | undefined }> = [];
    const { server, url } = await listen((req, res) => {
      const status = seen.length < 2 ? 503 : 404;
      seen.push({ status, url: req.url ?? "", auth: req.headers.authorization });
      res.writeHead(status, { "content-type": "application/problem+json" });
      res.end(JSON.stringify({ title: status === 404 ? "Not Found" : "Service Unavailable", status }));
    });
    closers.push(() => shut(server));
    const client = new HeraldClient({ url, apiKey: "k-123" });
    const errors: Error[] = [];
    const consumer = client.subscribe("gone", () => {}, {
      transport: "sse",
      reconnect: { baseMs: 1, capMs: 5 },
      onError: (e) => errors.push(e),
    });
    await assert.rejects(consumer.done(), (error: unknown) => {
      assert.ok(error instanceof ConsumerRejectedError);
      assert.equal(error.status, 404);
      assert.equal(error.problem.title, "Not Found");
      return true;
    });
    await client.close();
    assert.deepEqual(
      seen.map((s) => s.status),
      [503, 503, 404],
    );
    for (const s of seen) {
      assert.equal(s.auth, "Bearer k-123");
      assert.match(s.url, /^\/subscriptions\/gone\/sse\?frame=message&max=16$/);
    }
    assert.equal(errors.filter((e) => e instanceof ConsumerRejectedError).length, 1);
  });

  test("a broken frame is reported and skipped; the next one is handled", async () => {
    const good = {
      ackId: "a2",
      deliveryCount: 1,
      position: 2,
      stream: "s",
      event: { specversion: "1.0", id: "e2", source: "/t", type: "t" },
    };
    const acks: unknown[] = [];
    const { server, url } = await listen((req, res) => {
      if (req.method === "GET") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(`id: a1\nevent: message\ndata: {"ackId":"a1"}\n\n`);
        res.write(`id: a2\nevent: message\ndata: ${JSON.stringify(good)}\n\n`);
        return;
      }
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString();
      });
      req.on("end", () => {
        acks.push({ path: req.url, body: JSON.parse(body) });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ acked: 1, unknown: [] }));
      });
    });
    closers.push(() => shut(server));
    const client = new HeraldClient({ url });
    const errors: string[] = [];
    const handled: string[] = [];
    const consumer = client.subscribe("frames", (e) => void handled.push(e.id), {
      transport: "sse",
      onError: (e) => errors.push(e.message),
    });
    await until(() => consumer.stats.acked === 1, 5_000, "ack of the good frame");
    await consumer.stop({ drainMs: 100 });
    await client.close();
    assert.deepEqual(handled, ["e2"]);
    assert.deepEqual(acks, [{ path: "/subscriptions/frames/ack", body: { ackIds: ["a2"] } }]);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /unreadable SSE frame a1/);
  });
});

describe("ws consumer against a scripted broker", () => {
  test("the key is in the handshake header, not the URL; a socket without pings is reopened", async () => {
    const handshakes: Array<{ url: string; auth: string | undefined }> = [];
    const { server, url } = await listen((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ server });
    wss.on("connection", (_ws, req) =>
      handshakes.push({ url: req.url ?? "", auth: req.headers.authorization }),
    );
    closers.push(async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await shut(server);
    });
    const client = new HeraldClient({ url, apiKey: "k-ws" });
    const consumer = client.subscribe("silent", () => {}, {
      transport: "ws",
      heartbeatTimeoutMs: 80,
      ...quiet,
    });
    await until(() => handshakes.length >= 3, 5_000, "three handshakes");
    await consumer.stop();
    await client.close();
    for (const h of handshakes) {
      assert.equal(h.auth, "Bearer k-ws");
      assert.equal(h.url, "/subscriptions/silent/ws?max=16");
    }
  });

  test("acks answered as unknown are taken off the acked count", async () => {
    const { server, url } = await listen((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ server });
    const commands: unknown[] = [];
    wss.on("connection", (ws) => {
      ws.send(
        JSON.stringify({
          ackId: "x1",
          deliveryCount: 3,
          position: 7,
          stream: "s",
          event: { specversion: "1.0", id: "e1", source: "/t", type: "t" },
        }),
      );
      ws.on("message", (raw) => {
        const command = JSON.parse(raw.toString()) as { ack?: string[] };
        commands.push(command);
        if (command.ack) ws.send(JSON.stringify({ unknown: command.ack }));
      });
    });
    closers.push(async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await shut(server);
    });
    const client = new HeraldClient({ url });
    const attempts: number[] = [];
    const errors: string[] = [];
    const consumer = client.subscribe("late", (_e, ctx) => void attempts.push(ctx.attempt), {
      transport: "ws",
      onError: (e) => errors.push(e.message),
    });
    await until(() => errors.length > 0, 5_000, "the unknown answer");
    await consumer.stop({ drainMs: 100 });
    await client.close();
    assert.deepEqual(attempts, [3]);
    assert.deepEqual(commands, [{ ack: ["x1"] }]);
    assert.equal(consumer.stats.handled, 1);
    assert.equal(consumer.stats.acked, 0);
    assert.match(errors[0]!, /did not hold 1 ack id/);
  });
});
