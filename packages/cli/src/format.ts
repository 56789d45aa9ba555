// How `herald tail` shows events: one JSON line each, or a short human layout.
import type { JsonEventObject } from "@herald/protocol";

export type OutputFormat = "pretty" | "json";

export interface ShownEvent {
  readonly position: number;
  readonly stream: string;
  readonly version?: number;
  readonly event: JsonEventObject;
  /** Pull consumers only. */
  readonly deliveryCount?: number;
}

const CORE = new Set(["specversion", "id", "source", "type", "time", "subject", "datacontenttype", "data"]);

export function formatEvent(shown: ShownEvent, format: OutputFormat, color: boolean): string {
  if (format === "json") return JSON.stringify(shown);
  const paint = (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const { event } = shown;
  const where = shown.version === undefined ? shown.stream : `${shown.stream}@${shown.version}`;
  const head = [
    paint(33, `#${shown.position}`),
    typeof event.time === "string" ? paint(2, event.time) : undefined,
    paint(1, String(event.type)),
    paint(36, where),
    shown.deliveryCount !== undefined && shown.deliveryCount > 1 ? `(delivery ${shown.deliveryCount})` : "",
  ]
    .filter(Boolean)
    .join("  ");
  const attributes = [`source=${String(event.source)}`, `id=${String(event.id)}`];
  if (event.subject !== undefined) attributes.push(`subject=${String(event.subject)}`);
  for (const [name, value] of Object.entries(event)) {
    if (!CORE.has(name) && name !== "data_base64") attributes.push(`${name}=${stringify(value)}`);
  }
  const lines = [head, `    ${paint(2, attributes.join(" "))}`];
  const data = describeData(event);
  if (data !== undefined) lines.push(`    ${data}`);
  return lines.join("\n");
}

function describeData(event: JsonEventObject): string | undefined {
  if (event.data !== undefined) return stringify(event.data);
  if (typeof event.data_base64 === "string") {
    return `<${Math.floor((event.data_base64.length * 3) / 4)} bytes base64 ${String(event.datacontenttype ?? "")}>`;
  }
  return undefined;
}

function stringify(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Colors only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(): boolean {
  return process.stdout.isTTY === true && !process.env.NO_COLOR;
}
