// Live consumption over one connection: Server-Sent Events and WebSocket, with manual and auto ack.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { createSubscription } from "./support/consumer.js";
import { api, type Harness, makeEvent, startHarness, waitFor } from "./support/harness.js";

interface SseEvent {
  id: string;
  event: string;
  data: string;
}

/** Reads SSE frames from a fetch body. */
async function openSse(url: string) {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  assert.equal(res.status, 200);
  assert.match(String(res.headers.get("content-type")), /^text\/event-stream/);
  const frames: SseEvent[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const frame: SseEvent = { id: "", event: "message", data: "" };
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue;
            const [field, ...rest] = line.split(": ");
            const value = rest.join(": ");
            if (field === "id") frame.id = value;
            else if (field === "event") frame.event = value;
            else if (field === "data") data.push(value);
          }
          frame.data = data.join("\n");
          if (data.length > 0) frames.push(frame);
          end = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    frames,
    async close() {
      controller.abort();
      await pump;
    },
  };
}

describe("live consumption", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close({ closeLog: true });
  });

  it("SSE streams events with id = ackId; acks go through /ack; unacked ones return on disconnect", async () => {
    await createSubscription(h.url, { id: "sse", types: ["sse.thing"], config: { ordering: "none" } });
    const stream = await openSse(`${h.url}/subscriptions/sse/sse`);
    const sent = [makeEvent({ type: "sse.thing" }), makeEvent({ type: "sse.thing" })];
    await h.log.append(sent);
    await waitFor(() => (stream.frames.length >= 2 ? true : undefined));
    assert.deepEqual(
      stream.frames.map((f) => JSON.parse(f.data).id),
      sent.map((e) => e.id),
    );
    assert.equal(stream.frames[0]!.event, "cloudevent");
    const res = await api(h.url, "POST", "/subscriptions/sse/ack", { ackIds: [stream.frames[0]!.id] });
    assert.deepEqual(res.body, { acked: 1, unknown: [] });
    await stream.close();
    // The second event was never acked: it is handed out again, with deliveryCount 2.
    const pulled = await waitFor(async () => {
      const r = await api(h.url, "POST", "/subscriptions/sse/pull", { max: 10, waitMs: 200 });
      const messages = (r.body as { messages: Array<{ deliveryCount: number; event: { id: string } }> })
        .messages;
      return messages.length > 0 ? messages : undefined;
    });
    assert.equal(pulled.length, 1);
    assert.equal(pulled[0]!.event.id, sent[1]!.id);
    assert.equal(pulled[0]!.deliveryCount, 2);
  });

  it("SSE ?frame=message sends pull messages (with the delivery count) as `message` frames", async () => {
    await createSubscription(h.url, { id: "sse-frame", types: ["sse.frame"] });
    const bad = await fetch(`${h.url}/subscriptions/sse-frame/sse?frame=xml`);
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const stream = await openSse(`${h.url}/subscriptions/sse-frame/sse?frame=message`);
    const sent = makeEvent({ type: "sse.frame" });
    await h.log.append([sent]);
    await waitFor(() => (stream.frames.length >= 1 ? true : undefined));
    const first = JSON.parse(stream.frames[0]!.data) as {
      ackId: string;
      deliveryCount: number;
      event: { id: string };
    };
    assert.equal(stream.frames[0]!.event, "message");
    assert.equal(first.ackId, stream.frames[0]!.id);
    assert.equal(first.deliveryCount, 1);
    assert.equal(first.event.id, sent.id);
    await api(h.url, "POST", "/subscriptions/sse-frame/nack", { ackIds: [first.ackId], delayMs: 0 });
    await waitFor(() => (stream.frames.length >= 2 ? true : undefined));
    const second = JSON.parse(stream.frames[1]!.data) as { deliveryCount: number; event: { id: string } };
    assert.equal(second.deliveryCount, 2);
    assert.equal(second.event.id, sent.id);
    await stream.close();
  });

  it("SSE with ?ack=auto settles events as they are written", async () => {
    await createSubscription(h.url, { id: "sse-auto", types: ["sse.auto"] });
    const stream = await openSse(`${h.url}/subscriptions/sse-auto/sse?ack=auto`);
    await h.log.append([1, 2, 3].map(() => makeEvent({ type: "sse.auto", subject: "one-stream" })));
    await waitFor(() => (stream.frames.length >= 3 ? true : undefined));
    await stream.close();
    const stats = (await api(h.url, "GET", "/subscriptions/sse-auto/stats")).body as Record<string, number>;
    assert.equal(stats.delivered, 3);
    assert.equal(stats.lag, 0);
  });

  it("SSE ?max bounds the unacked events one connection holds", async () => {
    await createSubscription(h.url, { id: "sse-max", types: ["sse.max"], config: { ordering: "none" } });
    const stream = await openSse(`${h.url}/subscriptions/sse-max/sse?max=1`);
    await h.log.append([1, 2, 3].map(() => makeEvent({ type: "sse.max" })));
    await waitFor(() => (stream.frames.length >= 1 ? true : undefined));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(stream.frames.length, 1, "a second event came before the first was acked");
    for (let i = 0; i < 2; i++) {
      await api(h.url, "POST", "/subscriptions/sse-max/ack", { ackIds: [stream.frames[i]!.id] });
      await waitFor(() => (stream.frames.length >= i + 2 ? true : undefined));
    }
    assert.equal(new Set(stream.frames.map((f) => JSON.parse(f.data).id)).size, 3);
    await stream.close();
  });

  it("WebSocket sends messages and takes ack / nack commands", async () => {
    await createSubscription(h.url, {
      id: "ws",
      types: ["ws.thing"],
      config: { backoff: { baseMs: 1, capMs: 1 } },
    });
    const ws = new WebSocket(`${h.url.replace("http", "ws")}/subscriptions/ws/ws`);
    const messages: Array<{ ackId: string; deliveryCount: number; event: { id: string } }> = [];
    ws.on("message", (raw) => messages.push(JSON.parse(raw.toString())));
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const [sent] = [makeEvent({ type: "ws.thing" })];
    await h.log.append([sent!]);
    await waitFor(() => (messages.length >= 1 ? true : undefined));
    assert.equal(messages[0]!.event.id, sent!.id);
    assert.equal(messages[0]!.deliveryCount, 1);
    ws.send(JSON.stringify({ nack: [messages[0]!.ackId] }));
    await waitFor(() => (messages.length >= 2 ? true : undefined));
    assert.equal(messages[1]!.event.id, sent!.id);
    assert.equal(messages[1]!.deliveryCount, 2);
    ws.send(JSON.stringify({ ack: [messages[1]!.ackId] }));
    await waitFor(async () => {
      const stats = (await api(h.url, "GET", "/subscriptions/ws/stats")).body as Record<string, number>;
      return stats.delivered === 1 ? true : undefined;
    });
    ws.send("not json");
    const error = await waitFor(() => messages.find((m) => "error" in m));
    assert.ok(error);
    assert.equal((error as unknown as { code: string }).code, "json-invalid");
    ws.send(JSON.stringify({ neither: true }));
    const shape = await waitFor(() =>
      messages.find((m) => (m as unknown as { code?: string }).code === "body-invalid"),
    );
    assert.ok(shape);
    ws.close();
  });

  it("refuses a WebSocket upgrade for an unknown subscription", async () => {
    const ws = new WebSocket(`${h.url.replace("http", "ws")}/subscriptions/nope/ws`);
    let code = "";
    const status = await new Promise<number>((resolve) =>
      ws.once("unexpected-response", (_req, res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => {
          code = (JSON.parse(text) as { code: string }).code;
          resolve(res.statusCode ?? 0);
        });
      }),
    );
    assert.equal(status, 404);
    assert.equal(code, "subscription-not-found");
  });
});
