// Structured JSON logs (pino) to stdout; one line per record, level configurable ("silent" in tests).
import { pino } from "pino";
import type { Logger } from "pino";

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: { service: "herald" }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}
