// Installs a real OpenTelemetry tracer (in-memory exporter) for the test process.
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

export const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(provider);

export function spans(): ReadableSpan[] {
  return exporter.getFinishedSpans();
}

export function spanNamed(name: string): ReadableSpan {
  const found = spans().find((s) => s.name === name);
  if (!found)
    throw new Error(
      `no span ${name}; have: ${spans()
        .map((s) => s.name)
        .join(", ")}`,
    );
  return found;
}
