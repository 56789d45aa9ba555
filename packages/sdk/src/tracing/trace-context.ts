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
  SpanKind,
  SpanStatusCode,
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

/** The remote span context of a W3C `traceparent` (and `tracestate`), if it is well formed. */
function remoteSpanContext(traceparent: unknown, tracestate: unknown): SpanContext | undefined {
  if (typeof traceparent !== "string") return undefined;
  const m = TRACEPARENT.exec(traceparent);
  if (!m) return undefined;
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

/** The span context an event carries, if its traceparent is well formed. */
export function parseTraceparent(event: CloudEvent): SpanContext | undefined {
  return remoteSpanContext(event["traceparent"], event["tracestate"]);
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

/** A server span of an incoming request (see runInRequestSpan); end it once the answer is sent. */
export interface RequestSpan {
  /** False without an OpenTelemetry SDK (or not sampled): nothing is recorded. */
  readonly recording: boolean;
  /** Ends the span with the answer's HTTP status (5xx marks it an error). */
  end(status: number): void;
  /**
   * Runs the listeners of `emitter` (the request: its `data`/`end` events come from the socket, in
   * the connection's context) or the function `target` in the span's context.
   */
  bind<T extends object>(target: T): T;
}

const NOT_RECORDING: RequestSpan = { recording: false, end: () => {}, bind: (target) => target };

/**
 * Runs `fn` in a SERVER span for an incoming HTTP request, child of the W3C trace context of its
 * `traceparent`/`tracestate` headers when they are valid (the caller's trace goes on), else of the
 * active context. Inside `fn` (and what it awaits) the span is active: events sent or stamped with
 * `withTraceContext` carry it — but callbacks of emitters created outside it (a request body's
 * `data` events) run in their own context: `span.bind(req)` first. Without an OpenTelemetry SDK this
 * costs one no-op span and runs `fn` as it is.
 */
export function runInRequestSpan<T>(
  name: string,
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  attributes: Readonly<Record<string, string | number>>,
  fn: (span: RequestSpan) => T,
): T {
  const remote = remoteSpanContext(headers["traceparent"], headers["tracestate"]);
  const parent = remote ? trace.setSpanContext(context.active(), remote) : context.active();
  const span = sdkTracer().startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  if (!span.isRecording()) {
    span.end();
    return fn(NOT_RECORDING);
  }
  let ended = false;
  const active = trace.setSpan(parent, span);
  const handle: RequestSpan = {
    recording: true,
    bind: (target) => context.bind(active, target),
    end(status) {
      if (ended) return;
      ended = true;
      span.setAttribute("http.response.status_code", status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
  return context.with(active, () => fn(handle));
}
