// End to end through startServer: publish with the official `cloudevents` SDK over HTTP, deliver
// to a webhook sink built with the same SDK and to pull consumers with a CESQL filter.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type HeraldServer, startServer } from "@herald/server";
import { CloudEvent as SdkEvent, HTTP } from "cloudevents";
import { ack, createSubscription, pull } from "./support/consumer.js";
import { api, waitFor } from "./support/harness.js";
import { startSink } from "./support/sink.js";

async function publish(server: HeraldServer, event: SdkEvent<unknown>): Promise<number> {
  const message = HTTP.binary(event);
  const res = await fetch(`${server.url}/events`, {
    method: "POST",
    headers: message.headers as Record<string, string>,
    body: message.body as string,
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { results: Array<{ position: number }> };
  return body.results[0]!.position;
}

const sdkEvent = (type: string, data: unknown, subject = "e2e") =>
  new SdkEvent({ source: "/e2e", type, subject, data, datacontenttype: "application/json" });

describe("subscriptions through startServer", () => {
  it("pushes published events to an official-SDK receiver and serves pull consumers", async () => {
    const server = await startServer({ port: 0, storage: "memory", logLevel: "silent" });
    const received: Array<{ id: string; data?: unknown }> = [];
    const sink = await startSink((req, res) => {
      const decoded = HTTP.toEvent({ headers: req.headers, body: req.body.toString() });
      received.push(...(Array.isArray(decoded) ? decoded : [decoded]));
      res.writeHead(202);
      res.end();
    });
    try {
      const ready = await api(server.url, "GET", "/readyz");
      assert.equal(ready.status, 200);
      await createSubscription(server.url, { id: "e2e-push", sink: sink.url, types: ["e2e.push"] });
      await createSubscription(server.url, {
        id: "e2e-pull",
        filters: [{ sql: "type = 'e2e.pull' AND n > 1" }],
      });
      const pushed = sdkEvent("e2e.push", { hello: "world" });
      await publish(server, pushed);
      const [first] = await waitFor(() => (received.length > 0 ? received : undefined));
      assert.equal(first!.id, pushed.id);
      assert.deepEqual(first!.data, { hello: "world" });

      for (const n of [1, 2, 3]) await publish(server, new SdkEvent({ source: "/e2e", type: "e2e.pull", n }));
      const messages = await pull(server.url, "e2e-pull", 10, 1000);
      assert.deepEqual(
        messages.map((m) => m.event.n),
        ["2"], // binary mode: extensions travel as ce- headers, so they arrive as strings
      );
      await ack(server.url, "e2e-pull", messages);
      const next = await pull(server.url, "e2e-pull", 10, 1000);
      assert.deepEqual(
        next.map((m) => m.event.n),
        ["3"],
      );
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /herald_subscription_delivered_total\{subscription="e2e-push"\} 1/);
    } finally {
      await server.close();
      await sink.close();
    }
  });
});
