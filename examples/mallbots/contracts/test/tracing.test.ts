// One trace across the services, in one process: startTracing's file exporter writes each span as a
// JSON line, and a two-hop chain — a caller's HTTP request → the service's outbox event → another
// source's handler → its outbox event — stays in the caller's trace, each hop the child of the one
// before; traceTree draws it from the file by order id or trace id.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type CloudEvent, decodeJsonEventObject } from "@herald/cloudevents";
import { HeraldClient } from "@herald/sdk";
import { defineEventSource } from "@herald/service";
import { trace } from "@opentelemetry/api";
import { Type } from "@sinclair/typebox";
import {
  activeTrace,
  follow,
  OrderPlaced,
  openServiceDatabase,
  PaymentAuthorized,
  type RunningService,
  readConfig,
  type SpanLine,
  startApp,
  startOutbox,
  startTracing,
  traceTree,
} from "../src/index.js";

const CLI = fileURLToPath(new URL("../../../../../packages/cli/dist/src/main.js", import.meta.url));
const CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";

const dir = mkdtempSync(join(tmpdir(), "mallbots-tracing-"));
const traceFile = join(dir, "trace.jsonl");
const tracing = startTracing("test", { MALLBOTS_TRACE_FILE: traceFile });
let herald: ChildProcess;
let client: HeraldClient;
let service: RunningService;

/** `herald serve` on a free port, in its own data directory. */
function startHerald(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", "--data", join(dir, "herald")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const url = /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1];
      if (url) resolve({ child, url });
    });
    child.once("exit", (code) => reject(new Error(`herald serve exited (${code})`)));
  });
}

before(async () => {
  const started = await startHerald();
  herald = started.child;
  client = new HeraldClient({ url: started.url });
  const config = readConfig({ MALLBOTS_HERALD_URL: started.url, MALLBOTS_DATA_DIR: dir, MALLBOTS_PORT: "0" });
  const db = openServiceDatabase(config, "tracing");
  const { outbox, relay } = startOutbox(db, client);
  const appClient = new HeraldClient({ url: started.url });
  service = await startApp({
    name: "orders",
    config,
    client: appClient,
    definitions: [
      // Hop 1: an HTTP request writes the order's first event; it joins the request's trace.
      defineEventSource({
        trigger: "http.post./orders/:orderId",
        input: { params: Type.Object({ orderId: Type.String() }) },
        output: { 201: Type.Object({ orderId: Type.String() }) },
        auth: { required: false },
        handler: ({ params: { orderId } }) => {
          outbox.add([
            OrderPlaced.create({
              id: `placed-${orderId}`,
              subject: orderId,
              correlationid: orderId,
              ...activeTrace(),
              data: {
                orderId,
                customerId: "c",
                items: [{ productId: "p", storeId: "s", name: "Tea", price: 5, quantity: 1 }],
                total: 5,
              },
            }),
          ]);
          return { status: 201, body: { orderId } };
        },
      }),
      // Hop 2: a Herald source handles it and writes its answer, following the cause.
      defineEventSource({
        trigger: "herald.mallbots-tracing-test",
        event: OrderPlaced,
        subscription: { types: [OrderPlaced.type], config: { start: "beginning" } },
        handler: (cause) => {
          const { orderId, total } = cause.data;
          outbox.add([
            PaymentAuthorized.create({
              id: `${cause.id}:authorized`,
              subject: orderId,
              ...follow(cause),
              data: { orderId, paymentId: `pay-${orderId}`, amount: total },
            }),
          ]);
        },
      }),
    ],
    onStop: async () => {
      await relay.stop();
      db.close();
    },
  });
});

after(async () => {
  await service?.stop();
  await client?.close();
  herald?.kill("SIGKILL");
  await tracing?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

function spans(): SpanLine[] {
  if (!existsSync(traceFile)) return [];
  return readFileSync(traceFile, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as SpanLine);
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const spanOf = (traceparent: unknown) => String(traceparent).split("-")[2];

test("the file exporter writes each finished span as one JSON line", () => {
  assert.ok(tracing, "MALLBOTS_TRACE_FILE set: tracing is on");
  const span = trace.getTracer("test").startSpan("unit of work", { attributes: { "mallbots.n": 7 } });
  span.end();
  const line = spans().find((s) => s.name === "unit of work");
  assert.ok(line, "the span is in the file");
  assert.equal(line.traceId, span.spanContext().traceId);
  assert.equal(line.spanId, span.spanContext().spanId);
  assert.equal(line.parentSpanId, undefined);
  assert.equal(line.service, "test");
  assert.deepEqual(line.attributes, { "mallbots.n": 7 });
  assert.ok(Date.parse(line.start) <= Date.parse(line.end));
  assert.equal(startTracing("other", {}), undefined, "no file, no tracing");
});

test("HTTP → outbox event → handler → outbox event: one trace, each hop the child of the one before", {
  timeout: 60_000,
}, async () => {
  const response = await fetch(`${service.url}/orders/o-traced`, {
    method: "POST",
    headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
  });
  assert.equal(response.status, 201);
  const events = await until("both events in herald", async () => {
    const page = await client.correlation("o-traced");
    const found = page.events.map((e) => decodeJsonEventObject(e.event));
    return found.length >= 2 ? found : undefined;
  });
  const [placed, authorized] = events as [CloudEvent, CloudEvent];
  assert.equal(placed.type, OrderPlaced.type);
  assert.equal(authorized.type, PaymentAuthorized.type);

  // Hop 1: the request's SERVER span continues the caller's; the event carries that span.
  const request = await until("the request span", () =>
    spans().find((s) => s.name === "POST /orders/:orderId"),
  );
  assert.equal(request.traceId, CALLER_TRACE);
  assert.equal(request.parentSpanId, CALLER_SPAN);
  assert.equal(placed["traceparent"], `00-${CALLER_TRACE}-${request.spanId}-01`);
  // Hop 2: the delivery is the child of the event's trace; the answer carries the delivery span.
  const delivery = await until("the delivery span", () =>
    spans().find((s) => s.name === `herald deliver ${OrderPlaced.type}`),
  );
  assert.equal(delivery.traceId, CALLER_TRACE);
  assert.equal(delivery.parentSpanId, request.spanId);
  assert.equal(delivery.attributes["cloudevents.event_subject"], "o-traced");
  assert.equal(spanOf(authorized["traceparent"]), delivery.spanId);
  assert.ok(String(authorized["traceparent"]).startsWith(`00-${CALLER_TRACE}-`));
  assert.equal(authorized["correlationid"], "o-traced");
  assert.equal(authorized["causationid"], placed.id);

  // The report: found by order id (the delivery names it) or by trace id, the same tree.
  const tree = traceTree(traceFile, "o-traced");
  assert.equal(traceTree(traceFile, CALLER_TRACE), tree);
  const lines = tree.split("\n");
  assert.match(lines[0]!, new RegExp(`^trace ${CALLER_TRACE}: \\d+ spans`));
  const indent = (name: string) => {
    const line = lines.find((l) => l.includes(name));
    assert.ok(line, `${name} in the tree:\n${tree}`);
    return line.search(/[└├]/);
  };
  assert.equal(
    indent("test: POST /orders/:orderId"),
    0,
    "the request is the root (its caller does not trace)",
  );
  assert.ok(indent(`herald deliver ${OrderPlaced.type} (o-traced)`) > 0, "the delivery is under it");
  assert.equal(traceTree(traceFile, "no-such-order"), "");
});
