// W3C trace context on service-to-service HTTP calls (the gateway calling Orders, Stores, Depot), so
// the callee's handling continues the caller's trace.
import { context, isSpanContextValid, trace } from "@opentelemetry/api";

/**
 * The `traceparent` header for an outgoing call: the active span's (tracing on in this process),
 * else `incoming` (the caller's own header, passed on as it came), else none.
 */
export function outgoingTraceparent(incoming?: string): string | undefined {
  const span = trace.getSpanContext(context.active());
  if (span && isSpanContextValid(span))
    return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
  return incoming;
}
