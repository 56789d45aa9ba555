// Logs (pino): JSON lines to stdout, or human lines to stderr (`pretty`, the default on a terminal).
// Credentials never appear at any level: Authorization (and cookie) headers are censored wherever a
// record carries headers, and every top-level string that looks like a URL has its secret query
// parameters masked (request lines, sink URLs).
import { Writable } from "node:stream";
import { pino } from "pino";
import type { Logger } from "pino";
import { REDACTED, redactUrl } from "./redact.js";

export type { Logger };

/** `auto`: `pretty` when stdout is a terminal, `json` otherwise (piped, collected, in a container). */
export type LogFormat = "auto" | "json" | "pretty";

const SECRET_HEADERS = ["authorization", "cookie", "proxy-authorization"];
/** pino's redact paths go one wildcard level deep: cover headers at the shapes records use. */
const REDACT_PATHS = SECRET_HEADERS.flatMap((h) => [
  h,
  `headers.${h}`,
  `req.headers.${h}`,
  `request.headers.${h}`,
  `*.headers.${h}`,
  `*.${h}`,
]);

/** What `auto` means for a process whose stdout is `stdout`. */
export function resolveLogFormat(
  format: LogFormat,
  stdout: { readonly isTTY?: boolean } = process.stdout,
): "json" | "pretty" {
  if (format !== "auto") return format;
  return stdout.isTTY === true ? "pretty" : "json";
}

/**
 * A logger at `level`. JSON goes to `destination` (default stdout); `pretty` turns each record into one
 * human line on `destination` (default stderr, beside the CLI's own messages).
 */
export function createLogger(
  level: string,
  destination?: NodeJS.WritableStream,
  format: LogFormat = "json",
): Logger {
  const options = {
    level,
    base: { service: "herald" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    formatters: { log: redactUrls },
  };
  if (resolveLogFormat(format) === "pretty")
    return pino(options, prettyStream(destination ?? process.stderr));
  return destination ? pino(options, destination) : pino(options);
}

const LEVEL_PREFIX: Record<number, string> = {
  10: "trace: ",
  20: "debug: ",
  40: "warning: ",
  50: "error: ",
  60: "fatal: ",
};
/** pino's own fields, not worth a human's attention. */
const HIDDEN = new Set(["level", "time", "pid", "hostname", "service", "msg"]);

/** One human line per record: `warning: sink failing subscription=orders status=503`. */
export function formatPretty(record: Record<string, unknown>): string {
  const level = typeof record.level === "number" ? record.level : 30;
  let line = `${LEVEL_PREFIX[level] ?? ""}${typeof record.msg === "string" ? record.msg : ""}`;
  // Info lines are written to read alone (lifecycle, retention); the rest carry their details.
  if (level === 30) return line;
  for (const [name, value] of Object.entries(record)) {
    if (HIDDEN.has(name) || value === undefined) continue;
    line += ` ${name}=${fieldText(value)}`;
  }
  return line;
}

function fieldText(value: unknown): string {
  if (typeof value === "string") return /[\s"=]/.test(value) || value === "" ? JSON.stringify(value) : value;
  if (typeof value === "object" && value !== null && "message" in value) {
    return JSON.stringify(String((value as { message: unknown }).message));
  }
  return JSON.stringify(value);
}

function prettyStream(out: NodeJS.WritableStream): Writable {
  let pending = "";
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      pending += String(chunk);
      let newline = pending.indexOf("\n");
      let text = "";
      while (newline >= 0) {
        const json = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        try {
          text += `${formatPretty(JSON.parse(json) as Record<string, unknown>)}\n`;
        } catch {
          text += `${json}\n`;
        }
        newline = pending.indexOf("\n");
      }
      if (text === "") done();
      else out.write(text, () => done());
    },
  });
}

function redactUrls(record: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const [name, value] of Object.entries(record)) {
    if (typeof value !== "string" || !value.includes("?")) continue;
    const masked = redactUrl(value);
    if (masked === value) continue;
    out ??= { ...record };
    out[name] = masked;
  }
  return out ?? record;
}
