// Outcomes: every event a source takes ends in one counted outcome per definition key, and the ones
// that are not plain success are logged. Nothing ends silently: an event no definition takes is
// `unmatched` (logged, counted, then dead-lettered or nacked by policy).

export type Outcome =
  /** The handler succeeded (and its output fit the schema). */
  | "handled"
  /** The handler threw (async: nacked for retry or dead-lettered by the subscription's policy). */
  | "failed"
  /** The input did not match the input schema. */
  | "invalid"
  /** Authorization refused it. */
  | "refused"
  /** The handler's output broke the output schema. */
  | "output-invalid"
  /** No definition takes the event's type. */
  | "unmatched"
  /** A cron firing skipped because the previous run still ran. */
  | "overlap-skipped"
  /** A cron firing recovered after downtime (missed: fire-once). */
  | "missed-fired";

/** A pino-compatible logger (pino itself fits). */
export interface ServiceLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Writes one JSON line per entry to stderr. */
export const stderrLogger: ServiceLogger = {
  warn: (fields, message) =>
    process.stderr.write(`${JSON.stringify({ level: "warn", ...fields, message })}\n`),
  error: (fields, message) =>
    process.stderr.write(`${JSON.stringify({ level: "error", ...fields, message })}\n`),
};

const LOGGED: ReadonlySet<Outcome> = new Set([
  "failed",
  "refused",
  "unmatched",
  "overlap-skipped",
  "output-invalid",
]);

export class Outcomes {
  readonly #counts = new Map<string, Map<Outcome, number>>();
  readonly #logger: ServiceLogger;

  constructor(logger: ServiceLogger = stderrLogger) {
    this.#logger = logger;
  }

  count(key: string, outcome: Outcome, fields?: Record<string, unknown>): void {
    let byOutcome = this.#counts.get(key);
    if (!byOutcome) {
      byOutcome = new Map();
      this.#counts.set(key, byOutcome);
    }
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    // No default `{}` and no key array per count: this runs once per request.
    if (fields !== undefined && LOGGED.has(outcome) && Object.keys(fields).length > 0)
      this.#logger.warn({ key, outcome, ...fields }, outcome);
  }

  log(level: "warn" | "error", fields: Record<string, unknown>, message: string): void {
    this.#logger[level](fields, message);
  }

  error(key: string, error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    this.#logger.error({ key, error: e.message, name: e.name }, "handler failed");
  }

  /** `{ key: { outcome: count } }`. */
  snapshot(): Record<string, Partial<Record<Outcome, number>>> {
    const out: Record<string, Partial<Record<Outcome, number>>> = {};
    for (const [key, byOutcome] of this.#counts) out[key] = Object.fromEntries(byOutcome);
    return out;
  }

  get(key: string, outcome: Outcome): number {
    return this.#counts.get(key)?.get(outcome) ?? 0;
  }
}
