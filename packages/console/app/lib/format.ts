// Text forms of times, data and commands.
import type { Event, LogEntry } from "./wire.js";

export function formatTime(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "";
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "–";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function formatNumber(value: number | undefined, digits = 0): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** The event's attributes (everything but the data), in the order the spec lists the required ones. */
export function attributesOf(event: Event): Array<[string, string]> {
  const order = ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema"];
  const names = Object.keys(event).filter((name) => name !== "data" && name !== "data_base64");
  names.sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    return a.localeCompare(b);
  });
  return names.map((name) => [name, String((event as unknown as Record<string, unknown>)[name])]);
}

export interface DataView {
  /** How it is shown: `json`, `text`, `hex` or `none`. */
  readonly kind: "json" | "text" | "hex" | "none";
  readonly text: string;
}

/** The data pretty-printed by its media type: JSON indented, text as is, binary as a hex dump. */
export function dataOf(event: Event): DataView {
  const raw = event as unknown as Record<string, unknown>;
  if (typeof raw.data_base64 === "string") return { kind: "hex", text: hexDump(fromBase64(raw.data_base64)) };
  if (!("data" in raw) || raw.data === undefined) return { kind: "none", text: "" };
  const type = (event.datacontenttype ?? "application/json").toLowerCase();
  const data = raw.data;
  if (typeof data !== "string" || /[/+]json\b/.test(type)) {
    return { kind: "json", text: JSON.stringify(data, null, 2) };
  }
  if (/^text\/|[/+]xml\b|javascript|yaml|csv/.test(type)) return { kind: "text", text: data };
  return { kind: "text", text: data };
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** 16 bytes a line: offset, hex, printable ASCII. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const chunk = bytes.subarray(offset, offset + 16);
    const hex = [...chunk].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const ascii = [...chunk].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${offset.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join("\n");
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The event re-published with curl (structured mode: every attribute and the data exactly). */
export function asCurl(entry: LogEntry, origin: string): string {
  return [
    `curl -X POST ${shellQuote(`${origin}/events`)}`,
    `  -H 'content-type: application/cloudevents+json'`,
    `  -H "authorization: Bearer $HERALD_API_KEY"`,
    `  --data-binary ${shellQuote(JSON.stringify(entry.event))}`,
  ].join(" \\\n");
}

/** The event re-published with the CLI (one JSON line on stdin: every attribute and the data exactly). */
export function asHeraldPublish(entry: LogEntry, origin: string): string {
  return `printf '%s\\n' ${shellQuote(JSON.stringify(entry.event))} \\\n  | herald publish --url ${shellQuote(origin)} --file -`;
}

/** Where a CESQL parse error is: the problem's `position`, or the offset its text names. */
export function filterErrorOffset(problem: unknown): number | undefined {
  if (typeof problem !== "object" || problem === null) return undefined;
  const p = problem as { position?: unknown; detail?: unknown; errors?: Array<{ position?: unknown }> };
  if (typeof p.position === "number") return p.position;
  const first = p.errors?.[0]?.position;
  if (typeof first === "number") return first;
  const match = typeof p.detail === "string" ? /at offset (\d+)/.exec(p.detail) : null;
  return match ? Number(match[1]) : undefined;
}
