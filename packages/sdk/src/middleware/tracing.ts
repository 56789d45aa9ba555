// A span per handling ("herald handle <type>"), child of the delivery span when there is one, else of
// the trace the event carries; events the handler emits carry this span as their traceparent.
import { CloudEvent } from "@herald/cloudevents";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { toError } from "../errors.js";
import type { Middleware } from "../handler.js";
import { contextFromEvent, formatTraceparent, sdkTracer } from "../tracing/trace-context.js";

export function tracing(): Middleware {
  return (event, ctx, next) => {
    const active = context.active();
    const parent = trace.getSpan(active) ? active : contextFromEvent(event, active);
    const span = sdkTracer().startSpan(
      `herald handle ${event.type}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          "messaging.system": "herald",
          "messaging.operation.type": "process",
          "messaging.message.id": event.id,
          "cloudevents.event_id": event.id,
          "cloudevents.event_source": event.source,
          "cloudevents.event_type": event.type,
          ...(event.subject === undefined ? {} : { "cloudevents.event_subject": event.subject }),
          "herald.delivery.attempt": ctx.attempt,
        },
      },
      parent,
    );
    // No OpenTelemetry SDK (or not sampled): nothing to record or propagate beyond what the event carries.
    if (!span.isRecording()) return next().finally(() => span.end());
    const spanContext = span.spanContext();
    const traceparent = formatTraceparent(spanContext);
    const emit: typeof ctx.emit = (out) => {
      if (out["traceparent"] !== undefined) return ctx.emit(out);
      return ctx.emit(out instanceof CloudEvent ? out.cloneWith({ traceparent }) : { ...out, traceparent });
    };
    return context.with(trace.setSpan(parent, span), async () => {
      try {
        const result = await next(undefined, { ...ctx, emit });
        span.setStatus({ code: SpanStatusCode.OK });
        return result;
      } catch (thrown) {
        const error = toError(thrown);
        span.recordException(error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
        throw error;
      } finally {
        span.end();
      }
    });
  };
}
