// HTTP sources continue the caller's trace: with an OpenTelemetry SDK registered, each request runs
// in a SERVER span that is the child of its `traceparent` header, and events the handler stamps
// (withTraceContext, or the SDK's send) carry that span. The span ends with the answer's status.
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { withTraceContext } from "@herald/sdk";
import { context, SpanKind, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { Type } from "@sinclair/typebox";
import { type App, createApp, defineEventSource, http } from "../src/index.js";
import { quietLogger } from "./support.js";

const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
);

const CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";
let app: App;

before(async () => {
  app = await createApp({
    logger: quietLogger(),
    definitions: [
      defineEventSource({
        trigger: http.post("/orders/:id"),
        input: { params: Type.Object({ id: Type.String() }), body: Type.Object({ note: Type.String() }) },
        output: { 201: Type.Object({ traceparent: Type.String() }) },
        auth: { required: false },
        handler: async ({ params }) => {
          await new Promise((resolve) => setImmediate(resolve));
          const placed = withTraceContext(
            new CloudEvent({ source: "/shop", type: "placed", subject: params.id }),
          );
          return { status: 201, body: { traceparent: String(placed["traceparent"]) } };
        },
      }),
      defineEventSource({
        trigger: http.get("/boom"),
        auth: { required: false },
        handler: () => {
          throw new Error("boom");
        },
      }),
    ],
  }).start();
});
after(() => app.stop());
beforeEach(() => exporter.reset());

/** The finished span of the request (it ends when the answer has gone). */
async function spanNamed(name: string) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const found = exporter.getFinishedSpans().find((s) => s.name === name);
    if (found) return found;
    if (Date.now() > deadline) assert.fail(`no span ${name}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test("a request with a traceparent header runs in a child SERVER span; what the handler stamps carries it", async () => {
  const response = await fetch(`${app.url}/orders/o1`, {
    method: "POST",
    // A body: read from the socket's events, after the request's span was entered.
    headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, "content-type": "application/json" },
    body: JSON.stringify({ note: "x".repeat(200_000) }),
  });
  assert.equal(response.status, 201);
  const { traceparent } = (await response.json()) as { traceparent: string };
  const span = await spanNamed("POST /orders/:id");
  assert.equal(span.kind, SpanKind.SERVER);
  assert.equal(span.spanContext().traceId, CALLER_TRACE);
  assert.equal(span.parentSpanContext?.spanId, CALLER_SPAN);
  assert.equal(span.attributes["http.route"], "/orders/:id");
  assert.equal(span.attributes["http.response.status_code"], 201);
  assert.equal(traceparent, `00-${CALLER_TRACE}-${span.spanContext().spanId}-01`);
});

test("without a traceparent the request starts a trace; a failing handler's span is an error", async () => {
  assert.equal((await fetch(`${app.url}/boom`)).status, 500);
  const span = await spanNamed("GET /boom");
  assert.equal(span.parentSpanContext, undefined);
  assert.notEqual(span.spanContext().traceId, CALLER_TRACE);
  assert.equal(span.attributes["http.response.status_code"], 500);
  assert.equal(span.status.code, 2);
});
