// One trace across the services. Herald's SDK and @herald/service already make spans with the
// OpenTelemetry API (a request's SERVER span, `herald send`, `herald deliver`) and carry the W3C trace
// context in each event's `traceparent`; they record nothing until a tracer provider is registered.
// startTracing registers one when MALLBOTS_TRACE_FILE is set: every process of the demo appends its
// finished spans to that one file, a JSON object per line, and trace-report.ts prints one order's tree.
// (OTel JS has no file exporter; an OTLP collector would take the OTLP exporter package instead.)
import { appendFileSync } from "node:fs";
import { type Attributes, context, type HrTime, isSpanContextValid, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";

/** One line of the trace file. Times are ISO 8601 with milliseconds. */
export interface SpanLine {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** The process that recorded it (`orders`, `gateway`…). */
  readonly service: string;
  readonly start: string;
  readonly end: string;
  readonly attributes: Attributes;
}

const iso = ([seconds, nanos]: HrTime) => new Date(seconds * 1_000 + Math.floor(nanos / 1e6)).toISOString();

export function spanLine(span: ReadableSpan, service: string): SpanLine {
  const { traceId, spanId } = span.spanContext();
  const parent = span.parentSpanContext?.spanId;
  return {
    traceId,
    spanId,
    ...(parent === undefined ? {} : { parentSpanId: parent }),
    name: span.name,
    service,
    start: iso(span.startTime),
    end: iso(span.endTime),
    attributes: span.attributes,
  };
}

/**
 * Appends each finished span to `file` as one JSON line. Synchronous appends (O_APPEND, one write per
 * batch): several processes share the file, and a process killed with SIGKILL loses no span it ended.
 */
export class FileSpanExporter implements SpanExporter {
  readonly #file: string;
  readonly #service: string;
  constructor(file: string, service: string) {
    this.#file = file;
    this.#service = service;
  }
  export(spans: ReadableSpan[], done: Parameters<SpanExporter["export"]>[1]): void {
    try {
      appendFileSync(
        this.#file,
        spans.map((s) => `${JSON.stringify(spanLine(s, this.#service))}\n`).join(""),
      );
      done({ code: 0 }); // ExportResultCode.SUCCESS
    } catch (error) {
      done({ code: 1, error: error as Error });
    }
  }
  async shutdown(): Promise<void> {}
}

export interface Tracing {
  /** Ends the provider (pending spans are exported). */
  shutdown(): Promise<void>;
}

/**
 * Registers a tracer provider writing to MALLBOTS_TRACE_FILE, and an AsyncLocalStorage context
 * manager (so the span of a request or a delivery is the active one across its awaits). Without the
 * variable, nothing: the API stays a no-op and events still carry the `traceparent` they were given.
 */
export function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  const file = env["MALLBOTS_TRACE_FILE"];
  if (file === undefined || file === "") return undefined;
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(new FileSpanExporter(file, service))],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  return { shutdown: () => provider.shutdown() };
}

/**
 * The trace attributes of the active span (`traceparent`, and `tracestate` when it has one), or none.
 * For an event that starts in an HTTP handler, where there is no cause to `follow`.
 */
export function activeTrace(): Record<string, string> {
  const span = trace.getSpanContext(context.active());
  if (span === undefined || !isSpanContextValid(span)) return {};
  const flags = (span.traceFlags & 0xff).toString(16).padStart(2, "0");
  const state = span.traceState?.serialize();
  return {
    traceparent: `00-${span.traceId}-${span.spanId}-${flags}`,
    ...(state ? { tracestate: state } : {}),
  };
}
