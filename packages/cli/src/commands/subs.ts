// `herald subs`: list, get, create, delete, stats and reset of subscriptions (consumer groups).
import { readFileSync } from "node:fs";
import type {
  DeadLetterRecord,
  HeraldClient,
  ResetRequest,
  Subscription,
  SubscriptionFilter,
  SubscriptionInit,
} from "@herald/sdk";
import { UsageError } from "../errors.js";
import type { Output } from "../output.js";

export interface CreateSubscriptionOptions {
  readonly sink?: string;
  readonly type?: readonly string[];
  readonly filter?: readonly string[];
  readonly exact?: readonly string[];
  readonly prefix?: readonly string[];
  readonly suffix?: readonly string[];
  readonly start?: string;
  readonly ordering?: string;
  readonly retention?: string;
  readonly maxInFlight?: number;
  readonly ackTimeout?: number;
  readonly maxDeliveries?: number;
  readonly secret?: string;
  readonly contentMode?: string;
  readonly config?: readonly string[];
  readonly body?: string;
  readonly json?: boolean;
}

export async function listSubscriptions(api: HeraldClient, json: boolean, out: Output): Promise<void> {
  const subscriptions = await api.listSubscriptions();
  if (json) {
    for (const subscription of subscriptions) out.data(JSON.stringify(subscription));
    return;
  }
  if (subscriptions.length === 0) {
    out.message("no subscriptions");
    return;
  }
  const rows = subscriptions.map((s) => [s.id, deliveryOf(s), describeFilters(s)]);
  for (const line of table(["ID", "DELIVERY", "FILTERS"], rows)) out.data(line);
}

export async function showSubscription(api: HeraldClient, id: string, out: Output): Promise<void> {
  out.data(JSON.stringify(await api.getSubscription(id, { mustExist: true }), null, 2));
}

export async function deleteSubscription(api: HeraldClient, id: string, out: Output): Promise<void> {
  await api.deleteSubscription(id, { mustExist: true });
  out.message(`deleted subscription ${id}`);
}

export async function subscriptionStats(api: HeraldClient, id: string, json: boolean, out: Output) {
  const stats = await api.subscriptionStats(id);
  if (json) {
    out.data(JSON.stringify(stats));
    return;
  }
  const rows = Object.entries(stats).map(([name, value]) => [
    name,
    typeof value === "object" ? JSON.stringify(value) : String(value),
  ]);
  for (const line of table(["STAT", "VALUE"], rows)) out.data(line);
}

export async function listDeadLetters(
  api: HeraldClient,
  id: string,
  options: { json: boolean; pageSize: number },
  out: Output,
): Promise<void> {
  const rows: string[][] = [];
  let after: number | undefined;
  for (;;) {
    const page = await api.deadLetters(id, {
      ...(after !== undefined ? { after } : {}),
      limit: options.pageSize,
    });
    for (const letter of page.deadLetters) {
      if (options.json) out.data(JSON.stringify(letter));
      else rows.push(deadLetterRow(letter));
    }
    if (page.deadLetters.length === 0 || page.next === after) break;
    after = page.next;
  }
  if (options.json) return;
  if (rows.length === 0) {
    out.message(`no dead letters for ${id}`);
    return;
  }
  const header = ["POSITION", "EVENT ID", "TYPE", "REASON", "ATTEMPTS", "LAST FAILURE", "REDRIVEN"];
  for (const line of table(header, rows)) out.data(line);
}

function deadLetterRow(letter: DeadLetterRecord): string[] {
  const last = [letter.lastStatus, letter.lastError].filter((part) => part !== undefined).join(" ");
  return [
    String(letter.position),
    letter.event.id,
    letter.event.type,
    letter.reason,
    String(letter.attempts),
    last,
    letter.redriven ? "yes" : "no",
  ];
}

export interface RedriveOptions {
  readonly from?: number;
  readonly to?: number;
  readonly filter?: readonly string[];
  readonly type?: readonly string[];
  readonly dryRun?: boolean;
  readonly includeRedriven?: boolean;
}

export async function redriveDeadLetters(
  api: HeraldClient,
  id: string,
  options: RedriveOptions,
  out: Output,
): Promise<void> {
  if (options.from !== undefined && options.to !== undefined && options.to < options.from) {
    throw new UsageError(`--to ${options.to} is before --from ${options.from}`);
  }
  const filters: SubscriptionFilter[] = (options.filter ?? []).map((sql) => ({ sql }));
  const types = options.type ?? [];
  if (types.length === 1 && types[0] !== undefined) filters.push({ exact: { type: types[0] } });
  else if (types.length > 1) filters.push({ any: types.map((type) => ({ exact: { type } })) });
  const result = await api.redrive(id, {
    ...(options.from !== undefined ? { from: options.from } : {}),
    ...(options.to !== undefined ? { to: options.to } : {}),
    ...(filters.length > 0 ? { filters } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.includeRedriven ? { includeRedriven: true } : {}),
  });
  out.data(
    options.dryRun
      ? `would redrive ${result.count} dead letters of ${id}`
      : `queued ${result.count} dead letters of ${id} for redelivery`,
  );
}

/** Moves the subscription to `beginning`, `now`, a position or an ISO time (keeps id, settings, dead letters). */
export async function resetSubscription(
  api: HeraldClient,
  id: string,
  target: string,
  options: { readonly dryRun?: boolean; readonly json?: boolean },
  out: Output,
): Promise<void> {
  const start = parseStart(target, "the reset target");
  const request: ResetRequest =
    start === "beginning" || start === "now"
      ? { to: start }
      : (start as { position: number } | { time: string });
  const result = await api.resetSubscription(id, { ...request, ...(options.dryRun ? { dryRun: true } : {}) });
  if (options.json) {
    out.data(JSON.stringify(result));
    return;
  }
  const what = `checkpoint ${result.checkpoint}, ${result.redeliver} events to deliver`;
  out.data(options.dryRun ? `would reset ${id} to ${what}` : `reset ${id} to ${what}`);
}

export async function createSubscription(
  api: HeraldClient,
  id: string | undefined,
  options: CreateSubscriptionOptions,
  out: Output,
): Promise<void> {
  // The flags' resource goes as the user wrote it: the server validates it and names each bad field.
  const created = await api.createSubscription(subscriptionResource(id, options) as SubscriptionInit);
  if (options.json) out.data(JSON.stringify(created));
  else {
    out.data(`created subscription ${created.id} (${deliveryOf(created)}; ${describeFilters(created)})`);
  }
}

/** The Subscriptions API resource that the create flags describe. */
export function subscriptionResource(
  id: string | undefined,
  options: CreateSubscriptionOptions,
): Record<string, unknown> {
  const resource: Record<string, unknown> = options.body === undefined ? {} : readBody(options.body);
  if (id !== undefined) resource.id = id;
  if (options.sink !== undefined) resource.sink = options.sink;
  if (options.type !== undefined) resource.types = [...options.type];
  const filters: Record<string, unknown>[] = Array.isArray(resource.filters)
    ? [...(resource.filters as Record<string, unknown>[])]
    : [];
  for (const sql of options.filter ?? []) filters.push({ sql });
  for (const dialect of ["exact", "prefix", "suffix"] as const) {
    for (const pair of options[dialect] ?? []) {
      const [attribute, value] = splitPair(pair, `--${dialect}`);
      filters.push({ [dialect]: { [attribute]: value } });
    }
  }
  if (filters.length > 0) resource.filters = filters;
  const config: Record<string, unknown> =
    resource.config !== null && typeof resource.config === "object"
      ? { ...(resource.config as Record<string, unknown>) }
      : {};
  if (options.start !== undefined) config.start = parseStart(options.start);
  if (options.ordering !== undefined) config.ordering = options.ordering;
  if (options.retention !== undefined) config.retention = options.retention;
  if (options.maxInFlight !== undefined) config.maxInFlight = options.maxInFlight;
  if (options.ackTimeout !== undefined) config.ackTimeoutMs = options.ackTimeout;
  if (options.maxDeliveries !== undefined) config.maxDeliveries = options.maxDeliveries;
  if (options.secret !== undefined) config.secret = options.secret;
  if (options.contentMode !== undefined) config.contentMode = options.contentMode;
  for (const pair of options.config ?? []) {
    const [name, text] = splitPair(pair, "--config");
    config[name] = parseConfigValue(text);
  }
  if (Object.keys(config).length > 0) resource.config = config;
  return resource;
}

function readBody(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read --body ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`--body ${path} is not valid JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UsageError(`--body ${path} must hold one JSON object (a subscription resource)`);
  }
  return parsed as Record<string, unknown>;
}

/** `beginning`, `now`, a position, or an ISO time. */
export function parseStart(value: string, what = "--start"): unknown {
  if (value === "beginning" || value === "now") return value;
  if (/^\d+$/.test(value)) return { position: Number(value) };
  const time = Date.parse(value);
  if (!Number.isNaN(time)) return { time: new Date(time).toISOString() };
  throw new UsageError(`${what} must be beginning, now, a position or an ISO time, got "${value}"`);
}

/** JSON when it parses (numbers, booleans, objects), else the text as a string. */
function parseConfigValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function splitPair(pair: string, flag: string): [string, string] {
  const eq = pair.indexOf("=");
  if (eq <= 0) throw new UsageError(`${flag} expects name=value, got "${pair}"`);
  return [pair.slice(0, eq), pair.slice(eq + 1)];
}

function deliveryOf(subscription: Subscription): string {
  return typeof subscription.sink === "string" ? `push ${subscription.sink}` : "pull";
}

function describeFilters(subscription: Subscription): string {
  const parts: string[] = [];
  if (Array.isArray(subscription.types)) parts.push(`types ${subscription.types.join(",")}`);
  if (Array.isArray(subscription.filters)) {
    for (const filter of subscription.filters) parts.push(JSON.stringify(filter));
  }
  return parts.length === 0 ? "all events" : parts.join(" ");
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const render = (row: readonly string[]) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join("  ");
  return [render(header), ...rows.map(render)];
}
