// W3C trace context carried in the CloudEvents distributed tracing extension (`traceparent`,
// `tracestate`), so one trace spans producer → broker → consumer. Uses only @opentelemetry/api: with
// no SDK registered every span is a no-op and nothing is injected.
import type { CloudEvent } from "@herald/cloudevents";
import {
  type Context,
  context,
  createTraceState,
  isSpanContextValid,
  type SpanContext,
  trace,
  type Tracer,
} from "@opentelemetry/api";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function sdkTracer(): Tracer {
  return trace.getTracer("@herald/sdk", "0.1.0");
}

export function formatTraceparent(span: SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

/** The span context an event carries, if its traceparent is well formed. */
export function parseTraceparent(event: CloudEvent): SpanContext | undefined {
  const raw = event["traceparent"];
  if (typeof raw !== "string") return undefined;
  const m = TRACEPARENT.exec(raw);
  if (!m) return undefined;
  const tracestate = event["tracestate"];
  const span: SpanContext = {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: Number.parseInt(m[3]!, 16),
    isRemote: true,
    ...(typeof tracestate === "string" && tracestate !== ""
      ? { traceState: createTraceState(tracestate) }
      : {}),
  };
  return isSpanContextValid(span) ? span : undefined;
}

/** `base` (default: active) with the event's trace as parent, when it carries one. */
export function contextFromEvent(event: CloudEvent, base: Context = context.active()): Context {
  const span = parseTraceparent(event);
  return span ? trace.setSpanContext(base, span) : base;
}

/**
 * The event with traceparent/tracestate of `ctx`'s span (default: the active span), unless the event
 * already carries a trace or there is no valid span.
 */
export function withTraceContext<E extends CloudEvent>(event: E, ctx: Context = context.active()): E {
  if (typeof event["traceparent"] === "string") return event;
  const span = trace.getSpanContext(ctx);
  if (!span || !isSpanContextValid(span)) return event;
  const patch: Record<string, string> = { traceparent: formatTraceparent(span) };
  const state = span.traceState?.serialize();
  if (state) patch["tracestate"] = state;
  return event.cloneWith(patch) as E;
}
