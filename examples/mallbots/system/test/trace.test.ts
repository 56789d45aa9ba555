// One trace across the services: every process writes its spans to MALLBOTS_TRACE_FILE (one JSON line
// each); the kiosk's order request starts a trace in the gateway, and the trace context travels with
// every HTTP call and every event (traceparent), so the order's steps in Orders, Payments, the saga and
// Depot are spans of that one trace.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import type { SpanLine } from "@mallbots/contracts";
import { REPO_ROOT } from "../src/system.js";
import { kioskOf, Log, only, pickUpWhenReady, placeOrder, systemForSuite, T, waitFor } from "./support.js";

function spansIn(file: string): SpanLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as SpanLine);
}

const traceIdOf = (traceparent: unknown) => String(traceparent).split("-")[1] ?? "";

describe("one trace across the services", { timeout: 180_000 }, () => {
  it("an order's spans share one trace id across the gateway, Orders, Payments, the saga and Depot", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "mallbots-trace-"));
    const file = join(dataDir, "traces.jsonl");
    const system = await systemForSuite({
      dataDir,
      bots: 1,
      botStepMs: 20,
      env: { MALLBOTS_TRACE_FILE: file },
    });
    const kiosk = kioskOf(system);
    const log = new Log(system.heraldUrl);

    const orderId = await placeOrder(kiosk, "ada");
    await pickUpWhenReady(kiosk, orderId);
    const events = await waitFor(`the saga's completion of ${orderId}`, async () => {
      const all = await log.correlation(orderId);
      return all.some((e) => e.type === T.sagaCompleted) ? all : undefined;
    });
    const placed = only(events, T.placed);
    assert.match(
      String(placed["traceparent"]),
      /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/,
      "order-placed carries a traceparent",
    );
    const traceId = traceIdOf(placed["traceparent"]);

    // Every event of the conversation is in the request's trace, also those a bot's or the customer's
    // call caused (Depot keeps the order's trace with its task).
    for (const event of events)
      assert.equal(traceIdOf(event["traceparent"]), traceId, `${event.type} is in the order's trace`);
    assert.ok(events.length >= 20, `the whole conversation: ${events.map((e) => e.type).join(", ")}`);

    const spans = await waitFor(`spans of trace ${traceId} from the services`, () => {
      const found = spansIn(file).filter((span) => span.traceId === traceId);
      return new Set(found.map((span) => span.service)).size >= 5 ? found : undefined;
    });
    const services = new Set(spans.map((span) => span.service));
    for (const service of ["gateway", "orders", "payments", "orchestrator", "depot"])
      assert.ok(services.has(service), `${service} has spans in the trace: ${[...services].join(", ")}`);
    // It starts at the gateway: the kiosk's request is the one span without a parent.
    const roots = spans.filter((span) => !span.parentSpanId);
    assert.deepEqual(
      roots.map((span) => span.service),
      ["gateway"],
      `one root: ${roots.map((s) => `${s.service} ${s.name}`).join(", ")}`,
    );

    // The launcher draws it: `npm run mallbots -- trace <orderId>`.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(REPO_ROOT, "examples/mallbots/system/dist/src/main.js"), "trace", orderId],
      { env: { ...process.env, MALLBOTS_TRACE_FILE: file } },
    );
    assert.ok(stdout.includes(traceId), `the tree names trace ${traceId}:\n${stdout}`);
    for (const service of ["gateway", "orders", "payments", "orchestrator", "depot"])
      assert.ok(stdout.includes(service), `the tree shows ${service}:\n${stdout}`);
  });
});
