// `herald app run` and `herald app docs` as a user runs them: real processes. The example YAML app
// (examples/orders-yaml) runs against a real `herald serve` child: an order placed over HTTP is
// published, billed by the subscription source, visible over HTTP; SIGTERM stops the app cleanly.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { randomUUID } from "node:crypto";
import { CloudEvent } from "@herald/cloudevents";
import { connectMqttTransport } from "@herald/transport-mqtt";
import { runCli, startCli } from "./support/cli.js";
import { type HeraldProcess, startHerald } from "./support/herald-server.js";

const EXAMPLE = fileURLToPath(new URL("../../../../examples/orders-yaml", import.meta.url));

describe("herald app", () => {
  let herald: HeraldProcess;
  before(async () => {
    herald = await startHerald();
  });
  after(async () => {
    await herald.stop();
  });

  it("run: serves the YAML app's HTTP events and its subscription until SIGTERM", async () => {
    const app = startCli(["app", "run", EXAMPLE, "--port", "0", "--url", herald.url, "--transport", "poll"]);
    try {
      const [, url] = await app.waitFor("stderr", /herald app listening on (http:\/\/\S+) /, 20_000);
      const placed = await fetch(`${url}/orders`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sku: "tea", qty: 2 }),
      });
      assert.equal(placed.status, 202);
      const { id } = (await placed.json()) as { id: string };
      const invalid = await fetch(`${url}/orders`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sku: "tea", qty: 0 }),
      });
      assert.equal(invalid.status, 400);
      assert.equal(((await invalid.json()) as { code: string }).code, "input-invalid");
      // The subscription source bills it (a pull consumer: poll the app's own answer, bounded).
      let billed = false;
      for (let i = 0; i < 200 && !billed; i++) {
        const status = (await (await fetch(`${url}/orders/${id}`)).json()) as { billed: boolean };
        billed = status.billed;
        if (!billed) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(billed, "the order was billed by herald.orders-billing");
      const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      assert.deepEqual(Object.keys(openapi.paths).sort(), ["/orders", "/orders/{id}"]);
    } finally {
      app.child.kill("SIGTERM");
    }
    const result = await app.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /herald app stopped/);
  });

  it("docs: prints OpenAPI by default and AsyncAPI with --format asyncapi", async () => {
    const openapi = await runCli(["app", "docs", EXAMPLE]);
    assert.equal(openapi.code, 0, openapi.stderr);
    assert.equal((JSON.parse(openapi.stdout) as { openapi: string }).openapi, "3.1.0");
    const asyncapi = await runCli(["app", "docs", EXAMPLE, "--format", "asyncapi", "--url", herald.url]);
    assert.equal(asyncapi.code, 0, asyncapi.stderr);
    const doc = JSON.parse(asyncapi.stdout) as { asyncapi: string; channels: Record<string, unknown> };
    assert.equal(doc.asyncapi, "3.0.0");
    assert.ok(Object.keys(doc.channels).length >= 2, "the subscription and the cron job");
  });

  it("refuses what it cannot run: no directory (exit 2), a transport key without its engine flag", async () => {
    const missing = await runCli(["app", "docs", "/no/such/app"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such directory/);
    const dir = await mkdtemp(join(tmpdir(), "herald-app-"));
    try {
      await writeFile(join(dir, "h.mjs"), "export default () => undefined;\n");
      await writeFile(join(dir, "events.yaml"), "nats.orders.placed.billing:\n  fn: ./h.mjs\n");
      const noEngine = await runCli(["app", "run", dir, "--port", "0"]);
      assert.equal(noEngine.code, 2);
      assert.match(noEngine.stderr, /nats\.orders\.placed\.billing needs --nats/);
      await writeFile(join(dir, "events.yaml"), "mqtt.shop/orders:\n  fn: ./h.mjs\n");
      const noMqtt = await runCli(["app", "run", dir, "--port", "0"]);
      assert.equal(noMqtt.code, 2);
      assert.match(noMqtt.stderr, /mqtt\.shop\/orders needs --mqtt/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("run --mqtt: an mqtt.* source takes events from a real MQTT 5 broker", async (t) => {
    const url = process.env["HERALD_TEST_MQTT_URL"] ?? "mqtt://127.0.0.1:1883";
    let publisher: Awaited<ReturnType<typeof connectMqttTransport>>;
    try {
      publisher = await connectMqttTransport({ url });
    } catch (error) {
      if (process.env["CI"] === "true") throw error;
      t.skip(`no MQTT broker at ${url}`);
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), "herald-app-"));
    const topic = `app-run/${randomUUID()}`;
    try {
      await writeFile(
        join(dir, "h.mjs"),
        'export default (event) => { process.stderr.write("took " + event.id + " " + event.data.sku + "\\n"); };\n',
      );
      await writeFile(
        join(dir, "events.yaml"),
        `mqtt.${topic}:\n  fn: ./h.mjs\n  types: [order.placed]\n  data:\n    type: object\n    required: [sku]\n`,
      );
      const app = startCli(["app", "run", dir, "--port", "0", "--mqtt", url]);
      try {
        await app.waitFor("stderr", /herald app listening on/, 20_000);
        const id = randomUUID();
        await publisher.publish(
          topic,
          new CloudEvent({ id, source: "/test", type: "order.placed", data: { sku: "tea" } }),
        );
        await app.waitFor("stderr", new RegExp(`took ${id} tea`), 20_000);
      } finally {
        app.child.kill("SIGTERM");
      }
      const result = await app.done;
      assert.equal(result.code, 0, result.stderr);
    } finally {
      await publisher.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
