import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import {
  compose,
  formatTraceparent,
  parseTraceparent,
  runInRequestSpan,
  tracing,
  withTraceContext,
} from "@herald/sdk";
import { exporter, spanNamed } from "./support/otel.js";
import { event, unitFor } from "./support/events.js";

beforeEach(() => exporter.reset());

const producerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
const producerSpan = "00f067aa0ba902b7";

test("the handling span continues the trace the event carries, and emitted events carry the handling span", async () => {
  const run = compose([tracing()], (_e, ctx) => {
    ctx.emit({ source: "/s", type: "followup" });
  });
  const e = event({
    type: "traced.thing",
    traceparent: `00-${producerTrace}-${producerSpan}-01`,
    tracestate: "vendor=x",
  });
  const unit = unitFor(e);
  await run(e, unit.context);
  const span = spanNamed("herald handle traced.thing");
  assert.equal(span.spanContext().traceId, producerTrace);
  assert.equal(span.parentSpanContext?.spanId, producerSpan);
  assert.equal(span.kind, SpanKind.INTERNAL);
  assert.equal(span.attributes["cloudevents.event_id"], e.id);
  assert.equal(unit.outbox[0]!["traceparent"], formatTraceparent(span.spanContext()));
});

test("failures are recorded on the span", async () => {
  const run = compose([tracing()], () => {
    throw new Error("kaput");
  });
  const e = event({ type: "failing.thing" });
  await assert.rejects(run(e, unitFor(e).context), /kaput/);
  const span = spanNamed("herald handle failing.thing");
  assert.equal(span.status.code, 2);
  assert.equal(span.events[0]?.name, "exception");
});

test("withTraceContext injects the active span once, and parseTraceparent reads it back", () => {
  const tracer = trace.getTracer("test");
  const span = tracer.startSpan("outer");
  const ctx = trace.setSpan(ROOT_CONTEXT, span);
  const e = withTraceContext(new CloudEvent({ source: "/s", type: "t" }), ctx);
  const carried = parseTraceparent(e);
  assert.equal(carried?.traceId, span.spanContext().traceId);
  assert.equal(carried?.spanId, span.spanContext().spanId);
  assert.equal(carried?.isRemote, true);
  const again = withTraceContext(e, trace.setSpan(ctx, tracer.startSpan("other")));
  assert.equal(again["traceparent"], e["traceparent"], "an event's existing trace is kept");
  span.end();
  assert.equal(parseTraceparent(new CloudEvent({ source: "/s", type: "t" })), undefined);
});

test("runInRequestSpan: a SERVER span continuing the request's traceparent header, active in the handler (after awaits too)", async () => {
  const stamped = await runInRequestSpan(
    "GET /orders/:id",
    { traceparent: `00-${producerTrace}-${producerSpan}-01`, tracestate: "vendor=x" },
    { "http.request.method": "GET" },
    async (request) => {
      assert.equal(request.recording, true);
      await new Promise((resolve) => setTimeout(resolve, 1));
      const out = withTraceContext(new CloudEvent({ source: "/s", type: "placed" }));
      request.end(201);
      request.end(500); // once only
      return out;
    },
  );
  const span = spanNamed("GET /orders/:id");
  assert.equal(span.kind, SpanKind.SERVER);
  assert.equal(span.spanContext().traceId, producerTrace);
  assert.equal(span.parentSpanContext?.spanId, producerSpan);
  assert.equal(span.attributes["http.response.status_code"], 201);
  assert.equal(span.status.code, 0);
  assert.equal(stamped["traceparent"], formatTraceparent(span.spanContext()));
  assert.equal(stamped["tracestate"], "vendor=x");
});

test("runInRequestSpan: without a valid traceparent header the request starts a trace; a 5xx is an error", () => {
  runInRequestSpan("POST /orders", { traceparent: "00-bogus" }, {}, (request) => request.end(503));
  const span = spanNamed("POST /orders");
  assert.equal(span.parentSpanContext, undefined);
  assert.notEqual(span.spanContext().traceId, producerTrace);
  assert.equal(span.status.code, 2);
});

test("the handling span names the event's subject (find an order's spans by its id)", async () => {
  const run = compose([tracing()], () => {});
  const e = event({ type: "subject.thing", subject: "order-42" });
  await run(e, unitFor(e).context);
  assert.equal(spanNamed("herald handle subject.thing").attributes["cloudevents.event_subject"], "order-42");
});
