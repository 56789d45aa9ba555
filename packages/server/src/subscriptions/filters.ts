// Subscriptions API filter dialects (exact, prefix, suffix, all, any, not, sql) compiled to one
// predicate over a CloudEvent. Validation reports every malformed filter with its JSON pointer.
import type { CloudEvent } from "@herald/cloudevents";
import type { ValidationIssue } from "./errors.js";
import { compileSql } from "./sql.js";

export type EventMatcher = (event: CloudEvent) => boolean;

const ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;
const DIALECTS = ["exact", "prefix", "suffix", "all", "any", "not", "sql"] as const;
type Dialect = (typeof DIALECTS)[number];

/** Reads a context attribute or extension as the string the dialects compare. */
function attributeText(event: CloudEvent, name: string): string | undefined {
  const value = (event as unknown as Record<string, unknown>)[name];
  if (value === undefined || value === null) return undefined;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** Checks a list of filters (the resource's `filters` array or an all/any member). */
export function validateFilters(
  filters: readonly unknown[],
  pointer: string,
  issues: ValidationIssue[],
): void {
  for (const [i, filter] of filters.entries()) validateFilter(filter, `${pointer}/${i}`, issues);
}

function validateFilter(filter: unknown, pointer: string, issues: ValidationIssue[]): void {
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) {
    issues.push({ field: pointer, reason: "a filter must be an object with one dialect" });
    return;
  }
  const record = filter as Record<string, unknown>;
  const dialects = Object.keys(record).filter((k): k is Dialect =>
    (DIALECTS as readonly string[]).includes(k),
  );
  if (dialects.length !== 1) {
    issues.push({
      field: pointer,
      reason: `a filter must hold exactly one dialect of ${DIALECTS.join(", ")}`,
    });
    return;
  }
  const dialect = dialects[0]!;
  // The OpenAPI lets only the sql dialect carry extra members.
  if (dialect !== "sql") {
    for (const key of Object.keys(record)) {
      if (key !== dialect) issues.push({ field: `${pointer}/${key}`, reason: "unknown filter member" });
    }
  }
  const value = record[dialect];
  const at = `${pointer}/${dialect}`;
  switch (dialect) {
    case "exact":
    case "prefix":
    case "suffix": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        issues.push({ field: at, reason: "must map attribute names to strings" });
        return;
      }
      const entries = Object.entries(value);
      if (entries.length === 0) issues.push({ field: at, reason: "must name at least one attribute" });
      for (const [name, expected] of entries) {
        if (!ATTRIBUTE_NAME.test(name)) {
          issues.push({ field: `${at}/${name}`, reason: "is not a CloudEvents attribute name" });
        }
        if (typeof expected !== "string") issues.push({ field: `${at}/${name}`, reason: "must be a string" });
      }
      return;
    }
    case "all":
    case "any":
      if (!Array.isArray(value) || value.length === 0) {
        issues.push({ field: at, reason: "must be a non-empty array of filters" });
        return;
      }
      validateFilters(value, at, issues);
      return;
    case "not":
      validateFilter(value, at, issues);
      return;
    case "sql": {
      if (typeof value !== "string" || value.trim().length === 0) {
        issues.push({ field: at, reason: "must be a CESQL expression string" });
        return;
      }
      const problem = compileSql(value).error;
      if (problem !== undefined) issues.push({ field: at, reason: `invalid CESQL: ${problem}` });
      return;
    }
  }
}

export interface FilterSpec {
  readonly types?: readonly string[];
  readonly source?: string;
  readonly filters?: readonly unknown[];
}

/** Compiles validated filters; all top-level parts must match (`types`, `source`, each filter). */
export function compileMatcher(spec: FilterSpec): EventMatcher {
  const parts: EventMatcher[] = [];
  if (spec.types && spec.types.length > 0) {
    const types = new Set(spec.types);
    parts.push((event) => types.has(event.type));
  }
  if (spec.source !== undefined) {
    const source = spec.source;
    parts.push((event) => event.source === source);
  }
  for (const filter of spec.filters ?? []) parts.push(compileFilter(filter));
  return allOf(parts);
}

function allOf(parts: readonly EventMatcher[]): EventMatcher {
  if (parts.length === 0) return () => true;
  if (parts.length === 1) return parts[0]!;
  return (event) => parts.every((p) => p(event));
}

function compileFilter(filter: unknown): EventMatcher {
  const record = filter as Record<string, unknown>;
  if ("exact" in record) return attributes(record.exact, (actual, expected) => actual === expected);
  if ("prefix" in record) return attributes(record.prefix, (actual, expected) => actual.startsWith(expected));
  if ("suffix" in record) return attributes(record.suffix, (actual, expected) => actual.endsWith(expected));
  if ("all" in record) return allOf((record.all as unknown[]).map(compileFilter));
  if ("any" in record) {
    const parts = (record.any as unknown[]).map(compileFilter);
    return (event) => parts.some((p) => p(event));
  }
  if ("not" in record) {
    const inner = compileFilter(record.not);
    return (event) => !inner(event);
  }
  if ("sql" in record) {
    const { matcher, error } = compileSql(record.sql as string);
    if (matcher === undefined) throw new Error(`invalid CESQL filter: ${error}`);
    return matcher;
  }
  throw new Error("unvalidated filter");
}

/** exact/prefix/suffix: every named attribute must exist and compare true (a missing one never matches). */
function attributes(value: unknown, compare: (actual: string, expected: string) => boolean): EventMatcher {
  const entries = Object.entries(value as Record<string, string>);
  return (event) =>
    entries.every(([name, expected]) => {
      const actual = attributeText(event, name);
      return actual !== undefined && compare(actual, expected);
    });
}
