// Test helpers: a logger that records instead of printing.
import type { ServiceLogger } from "../src/index.js";

export interface RecordingLogger extends ServiceLogger {
  readonly entries: { level: string; fields: Record<string, unknown>; message: string }[];
}

export function quietLogger(): RecordingLogger {
  const entries: RecordingLogger["entries"] = [];
  return {
    entries,
    warn: (fields, message) => entries.push({ level: "warn", fields, message }),
    error: (fields, message) => entries.push({ level: "error", fields, message }),
  };
}
