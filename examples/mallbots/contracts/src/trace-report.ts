// Reads the trace file the services write (tracing.ts) and draws one order's trace as a tree: which
// service did what, in which order, how long it took. An order id finds the traces whose spans are
// about it (the SDK's spans carry the event's subject, and every MallBots event's subject is its
// order); a 32-hex-digit id is a trace id.
import { readFileSync } from "node:fs";
import type { SpanLine } from "./tracing.js";

const TRACE_ID = /^[0-9a-f]{32}$/;

function readSpans(file: string): SpanLine[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as SpanLine);
}

const ms = (from: string, to: string) => Date.parse(to) - Date.parse(from);

function drawTrace(traceId: string, spans: readonly SpanLine[]): string[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const children = new Map<string | undefined, SpanLine[]>();
  for (const span of spans) {
    // A parent outside the file (a caller that does not trace, like curl or a bot) makes a root.
    const parent =
      span.parentSpanId !== undefined && byId.has(span.parentSpanId) ? span.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  for (const list of children.values()) list.sort((a, b) => a.start.localeCompare(b.start));
  const first = [...spans].sort((a, b) => a.start.localeCompare(b.start))[0]!;
  const last = spans
    .map((s) => s.end)
    .sort()
    .at(-1)!; // ISO times sort as text
  const lines = [`trace ${traceId}: ${spans.length} spans, ${ms(first.start, last)} ms, from ${first.start}`];
  const draw = (span: SpanLine, prefix: string, isLast: boolean) => {
    const subject = span.attributes["cloudevents.event_subject"];
    lines.push(
      `${prefix}${isLast ? "└─" : "├─"} ${span.service}: ${span.name}` +
        `${subject === undefined ? "" : ` (${String(subject)})`}` +
        `  +${ms(first.start, span.start)} ms, ${ms(span.start, span.end)} ms`,
    );
    const kids = children.get(span.spanId) ?? [];
    for (const [i, kid] of kids.entries())
      draw(kid, `${prefix}${isLast ? "   " : "│  "}`, i === kids.length - 1);
  };
  const roots = children.get(undefined) ?? [];
  for (const [i, root] of roots.entries()) draw(root, "", i === roots.length - 1);
  return lines;
}

/**
 * The span trees of `id` (an order id, or a trace id) in the trace file, as text: the trace with the
 * order's first span first. Empty when the file has no span of it.
 */
export function traceTree(file: string, id: string): string {
  const spans = readSpans(file);
  const traceIds = TRACE_ID.test(id)
    ? [id]
    : [
        ...new Set(
          spans
            .filter((s) => s.attributes["cloudevents.event_subject"] === id)
            .sort((a, b) => a.start.localeCompare(b.start))
            .map((s) => s.traceId),
        ),
      ];
  return traceIds
    .map((traceId) => spans.filter((s) => s.traceId === traceId))
    .filter((trace) => trace.length > 0)
    .map((trace) => drawTrace(trace[0]!.traceId, trace).join("\n"))
    .join("\n\n");
}
