// Structured JSON logs (pino) to stdout; one line per record, level configurable ("silent" in tests).
// Credentials never appear at any level: Authorization (and cookie) headers are censored wherever a
// record carries headers, and every top-level string that looks like a URL has its secret query
// parameters masked (request lines, sink URLs).
import { pino } from "pino";
import type { Logger } from "pino";
import { REDACTED, redactUrl } from "./redact.js";

export type { Logger };

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

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: "herald" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    formatters: { log: redactUrls },
  };
  return destination ? pino(options, destination) : pino(options);
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
