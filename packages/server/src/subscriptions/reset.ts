// The body of `POST /subscriptions/{id}/reset`: exactly one target, as a start position.
import { SubscriptionValidationError, type ValidationIssue } from "./errors.js";
import { isObject, type StartPosition } from "./model.js";

const RESET_TARGETS = ["to", "position", "time"] as const;

/** The three exclusive targets of a reset, as a start position. */
export function parseReset(body: unknown): { start: StartPosition; dryRun: boolean } {
  if (!isObject(body))
    throw new SubscriptionValidationError([{ field: "", reason: "must be a JSON object" }], "reset");
  const issues: ValidationIssue[] = [];
  for (const key of Object.keys(body)) {
    if (![...RESET_TARGETS, "dryRun"].includes(key))
      issues.push({ field: `/${key}`, reason: "unknown member" });
  }
  const given = RESET_TARGETS.filter((key) => body[key] !== undefined);
  if (given.length !== 1) {
    issues.push({ field: "", reason: "needs exactly one of to, position, time" });
  }
  let start: StartPosition | undefined;
  if (body.to !== undefined) {
    if (body.to === "beginning" || body.to === "now") start = { kind: body.to };
    else issues.push({ field: "/to", reason: 'must be "beginning" or "now"' });
  }
  if (body.position !== undefined) {
    const v = body.position;
    if (typeof v === "number" && Number.isInteger(v) && v >= 0) start = { kind: "position", position: v };
    else issues.push({ field: "/position", reason: "must be a log position (integer ≥ 0)" });
  }
  if (body.time !== undefined) {
    const v = body.time;
    const time = typeof v === "string" && RFC3339.test(v) ? Date.parse(v) : Number.NaN;
    if (Number.isFinite(time)) start = { kind: "time", time };
    else issues.push({ field: "/time", reason: "must be an RFC 3339 date-time" });
  }
  if (body.dryRun !== undefined && typeof body.dryRun !== "boolean") {
    issues.push({ field: "/dryRun", reason: "must be a boolean" });
  }
  if (issues.length > 0 || start === undefined) throw new SubscriptionValidationError(issues, "reset");
  return { start, dryRun: body.dryRun === true };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
