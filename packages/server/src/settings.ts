// Every server setting, written once. Adding a setting is ONE row in SETTINGS below (plus the code that reads
// `config.<key>`): the ServerConfig type, DEFAULT_CONFIG, ENV_VARS, the env/flag/file parsing and validation,
// ConfigError names, `herald serve --help` and the table in packages/server/README.md all follow from the rows.
// After adding one, run `npm run docs:settings` (a test fails until the README table matches).
//   key:    config key path; also the config-file key (a dot nests: `limits.maxBodyBytes` is
//           `{"limits": {"maxBodyBytes": …}}`). Rows sharing a prefix form one group object.
//   flag:   the `herald serve` flag with its placeholder; leave it out to keep a value (a secret) off argv.
//   env:    the HERALD_* variable; its text is parsed by the type (integers, `true`/`false`, comma lists).
//   type:   parser + validator (int, oneOf, bool, string, stringList, duration, apiKeys, retentionRules); define
//           a new one below if needed.
// Example, a limit (CORS allow-list, extension names, retention are all one row like it; this one is below):
//   setting({ key: "limits.maxJsonDepth", flag: "--max-json-depth <n>", env: "HERALD_MAX_JSON_DEPTH",
//             type: int(1), default: 64, doc: "deepest nesting of JSON `data` → 422" }),
// then read `config.limits.maxJsonDepth` where it applies: LimitsConfig gains the field by itself. Never repeat a
// default, env var or flag name elsewhere.

import { COMPATIBILITY_MODES } from "@herald/protocol";
import { EngineUrlError, engineSchemes, parseEngineUrl, redactEngineUrl } from "./bridges/engine-url.js";

export type Issues = Array<{ setting: string; reason: string }>;

/** How one setting's value is checked (file and programmatic values) and read from text (env and flags). */
export interface SettingType<V> {
  /** What a value looks like, for the docs table (Markdown). */
  readonly describe: string;
  /** The allowed values of an enum (the CLI declares them as choices). */
  readonly choices?: readonly string[];
  /** Validates an untrusted value; pushes issues named `at` (or below it) and returns undefined when bad. */
  check(value: unknown, at: string, issues: Issues): V | undefined;
  /** Turns env/flag text into a candidate for `check`; pushes an issue named `at` and returns undefined when bad. */
  fromText(text: string, at: string, issues: Issues): unknown;
  /** The value as plain text (defaults in --help and the docs). */
  show(value: V): string;
}

export interface Setting<K extends string = string, V = unknown, E extends string = string> {
  readonly key: K;
  /** `herald serve` flag in commander form, e.g. `--port <port>`. */
  readonly flag?: `--${string} <${string}>`;
  readonly env: E;
  readonly type: SettingType<V>;
  readonly default: V;
  /** Said after the default where the bare value is not enough (`4 MiB`, `the API is open`). */
  readonly defaultNote?: string;
  /** One line: what it does (shown in --help and the docs). */
  readonly doc: string;
}

function setting<const K extends string, V, const E extends `HERALD_${string}`>(row: {
  key: K;
  flag?: `--${string} <${string}>`;
  env: E;
  type: SettingType<V>;
  default: NoInfer<V>;
  defaultNote?: string;
  doc: string;
}): Setting<K, V, E> {
  return row;
}

// ---- value types ----------------------------------------------------------------------------------

export type Scope = "publish" | "consume" | "admin";
export const SCOPES: readonly Scope[] = ["publish", "consume", "admin"];

export interface ApiKeyConfig {
  key: string;
  scopes: Scope[];
  /** When set, a `publish` key may only publish events whose `type` starts with one of these. */
  typePrefixes?: string[];
}

export const STORAGE_KINDS = ["sqlite", "memory", "postgres"] as const;
export type StorageKind = (typeof STORAGE_KINDS)[number];
export const DURABILITIES = ["full", "normal"] as const;
export const STALE_CHECKPOINT_ACTIONS = ["refuse", "rewind"] as const;
export type Durability = (typeof DURABILITIES)[number];
export const COMMIT_SYNCS = ["thread-pool", "inline"] as const;
export const CHECKPOINT_MODES = ["inline", "background"] as const;
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ["auto", "json", "pretty"] as const;
export type LogFormatSetting = (typeof LOG_FORMATS)[number];

/** One retention rule of `retention.rules` (the server's form of the log's RetentionPolicy). */
export interface RetentionRuleConfig {
  /** Streams whose name starts with this… */
  streamPrefix?: string;
  /** …and/or events of exactly this type; neither: every stream. */
  type?: string;
  /** Drop events older than this (ms; text and file strings such as `7d`, `12h`). */
  maxAgeMs?: number;
  /** Keep at most this many events per stream (the oldest go first, acked or not). */
  maxCount?: number;
  /** Let `maxAgeMs` drop events a subscription has not acked yet (default: they wait for the ack). */
  dropUnacked?: boolean;
}

function string(): SettingType<string> {
  return {
    describe: "string",
    check(value, at, issues) {
      if (typeof value === "string" && value.length > 0) return value;
      issues.push({ setting: at, reason: "must be a non-empty string" });
      return undefined;
    },
    fromText: (text) => text,
    show: (value) => value,
  };
}

function int(min: number, max?: number): SettingType<number> {
  const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
  return {
    describe: max === undefined ? `integer ≥ ${min}` : `integer ${min}–${max}`,
    check(value, at, issues) {
      if (typeof value !== "number" || !Number.isSafeInteger(value)) {
        issues.push({ setting: at, reason: `must be an integer ${range} (got ${JSON.stringify(value)})` });
        return undefined;
      }
      if (value >= min && (max === undefined || value <= max)) return value;
      issues.push({ setting: at, reason: `must be ${range} (got ${value})` });
      return undefined;
    },
    fromText(text, at, issues) {
      if (/^-?\d+$/.test(text)) return Number(text);
      issues.push({ setting: at, reason: `must be an integer (got ${JSON.stringify(text)})` });
      return undefined;
    },
    show: String,
  };
}

function oneOf<const T extends string>(allowed: readonly T[]): SettingType<T> {
  return {
    describe: allowed.map((v) => `\`${v}\``).join(", "),
    choices: allowed,
    check(value, at, issues) {
      if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
      issues.push({
        setting: at,
        reason: `must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)})`,
      });
      return undefined;
    },
    fromText: (text) => text,
    show: (value) => value,
  };
}

function bool(): SettingType<boolean> {
  return {
    describe: "boolean (text: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`)",
    check(value, at, issues) {
      if (typeof value === "boolean") return value;
      issues.push({ setting: at, reason: "must be true or false" });
      return undefined;
    },
    fromText(text, at, issues) {
      const lower = text.toLowerCase();
      if (["true", "1", "yes", "on"].includes(lower)) return true;
      if (["false", "0", "no", "off"].includes(lower)) return false;
      issues.push({ setting: at, reason: `must be true or false (got ${JSON.stringify(text)})` });
      return undefined;
    },
    show: String,
  };
}

/** A list of non-empty strings: a JSON array in the file, comma-separated text in env and flags. */
function stringList(itemsName: string): SettingType<string[]> {
  return {
    describe: `list of ${itemsName} (text: comma-separated)`,
    check(value, at, issues) {
      if (Array.isArray(value) && value.every((h) => typeof h === "string" && h.length > 0))
        return [...value];
      issues.push({ setting: at, reason: `must be an array of ${itemsName}` });
      return undefined;
    },
    fromText: splitList,
    show: (value) => (value.length === 0 ? "[]" : value.join(",")),
  };
}

/** Browser origins (`scheme://host[:port]`, no path): a list of them, or `*` for any origin. */
function origins(): SettingType<string[]> {
  const list = stringList("origins");
  const origin = /^(\*|https?:\/\/[^/?#\s]+)$/i;
  return {
    ...list,
    describe: "list of origins such as `https://app.example.com`, or `*` (text: comma-separated)",
    check(value, at, issues) {
      const items = list.check(value, at, issues);
      if (items === undefined) return undefined;
      const bad = items.filter((item) => !origin.test(item));
      if (bad.length === 0) return items.map((item) => item.toLowerCase());
      issues.push({ setting: at, reason: `not an origin (scheme://host[:port]): ${bad.join(", ")}` });
      return undefined;
    },
  };
}

function apiKeys(): SettingType<ApiKeyConfig[]> {
  return {
    describe:
      "array of `{key, scopes, typePrefixes?}` (text: JSON, or `key:scope,scope[:prefix,prefix]` joined by `;`)",
    check: checkApiKeys,
    fromText: parseApiKeysText,
    show: (value) => (value.length === 0 ? "[]" : `${value.length} keys`),
  };
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parses `500ms`, `30s`, `15m`, `12h`, `7d`, `2w` or a bare number of milliseconds; undefined when bad. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)\s*(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * (DURATION_UNITS[match[2] ?? "ms"] ?? 1);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Shows a duration in its largest whole unit: 604800000 → `7d`. */
export function showDuration(ms: number): string {
  if (ms === 0) return "0";
  for (const unit of ["w", "d", "h", "m", "s"]) {
    const size = DURATION_UNITS[unit] as number;
    if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Milliseconds: a number in the file, or text with a unit (`7d`) anywhere. */
function duration(min = 0): SettingType<number> {
  return {
    describe: "duration: `500ms`, `30s`, `15m`, `12h`, `7d`, `2w` (a bare number is milliseconds)",
    check(value, at, issues) {
      const ms = typeof value === "string" ? parseDuration(value) : value;
      if (typeof ms === "number" && Number.isSafeInteger(ms) && ms >= min) return ms;
      issues.push({
        setting: at,
        reason: `must be a duration such as 30s, 12h or 7d, at least ${showDuration(min)} (got ${JSON.stringify(value)})`,
      });
      return undefined;
    },
    fromText(text, at, issues) {
      const ms = parseDuration(text);
      if (ms !== undefined) return ms;
      issues.push({
        setting: at,
        reason: `must be a duration such as 30s, 12h or 7d (got ${JSON.stringify(text)})`,
      });
      return undefined;
    },
    show: showDuration,
  };
}

/** A PostgreSQL connection URL (`postgres://` or `postgresql://`). */
function postgresUrl(): SettingType<string> {
  return {
    describe: "URL `postgres://…`",
    check(value, at, issues) {
      // "" is the default (none): a resolved config passed back as flags stays valid.
      if (typeof value === "string" && (value === "" || /^postgres(ql)?:\/\/[^\s]+$/i.test(value)))
        return value;
      issues.push({ setting: at, reason: "must be a URL postgres://user:password@host:port/database" });
      return undefined;
    },
    // "—" is how --help and the docs show the empty default.
    fromText: (text) => (text === "—" ? "" : text),
    show: (value) => (value === "" ? "—" : value),
  };
}

/** A plain SQL identifier (used inside SQL text, so nothing that needs quoting). */
function identifier(): SettingType<string> {
  return {
    describe: "identifier `[a-z_][a-z0-9_]*` (≤ 41 characters)",
    check(value, at, issues) {
      if (typeof value === "string" && /^[a-z_][a-z0-9_]{0,40}$/.test(value)) return value;
      issues.push({ setting: at, reason: `must match [a-z_][a-z0-9_]{0,40} (got ${JSON.stringify(value)})` });
      return undefined;
    },
    fromText: (text) => text,
    show: (value) => value,
  };
}

function nodeId(): SettingType<string> {
  return {
    describe: "1–64 characters `A-Za-z0-9._-`",
    check(value, at, issues) {
      // "" is the default (derived at start).
      if (typeof value === "string" && /^[A-Za-z0-9._-]{0,64}$/.test(value)) return value;
      issues.push({
        setting: at,
        reason: `must be 1–64 characters A-Za-z0-9._- (got ${JSON.stringify(value)})`,
      });
      return undefined;
    },
    // "—" is how --help and the docs show the empty default.
    fromText: (text) => (text === "—" ? "" : text),
    show: (value) => (value === "" ? "—" : value),
  };
}

/** An array setting given as JSON in text (env var), checked by `check`; shown as a count of `noun`. */
function jsonArray<T>(describe: string, check: SettingType<T[]>["check"], noun: string): SettingType<T[]> {
  return {
    describe,
    check,
    fromText(text, at, issues) {
      try {
        return JSON.parse(text);
      } catch (error) {
        issues.push({ setting: at, reason: `is not valid JSON (${(error as Error).message})` });
        return undefined;
      }
    },
    show: (value) => (value.length === 0 ? "[]" : `${value.length} ${noun}`),
  };
}

function retentionRules(): SettingType<RetentionRuleConfig[]> {
  return jsonArray(
    "array of `{streamPrefix?, type?, maxAge?, maxCount?, dropUnacked?}` (`maxAge` a duration; text: JSON)",
    checkRetentionRules,
    "rules",
  );
}

/** One inbound bridge of `inbound`: an engine Herald ingests from (see docs/transports.md, Bridges). */
export interface InboundSourceConfig {
  /** `nats://host:port/subject`, `amqp://user:pass@host:port/topic`, `redis://host:port/stream`, `mqtt://host:port/topic`. */
  url: string;
  /** Its name in logs and metrics (default: the URL, password masked). */
  name: string;
  /** The consumer group Herald reads as (default `herald`). */
  group: string;
  /** When set, only events whose `type` starts with one of these are ingested (as an API key's). */
  typePrefixes?: string[];
  /** Messages appended at once (default 16). */
  maxInFlight: number;
  /** Deliveries of a message Herald cannot store (refused or failing) before the engine's dead letters (default 5). */
  maxDeliveries: number;
  /** A message taken but not acknowledged this long goes back to the engine (default 30 s). */
  ackTimeoutMs: number;
}

const INBOUND_KEYS = new Set([
  "url",
  "name",
  "group",
  "typePrefixes",
  "maxInFlight",
  "maxDeliveries",
  "ackTimeout",
  "ackTimeoutMs",
]);

function inboundSources(): SettingType<InboundSourceConfig[]> {
  return jsonArray(
    "array of `{url, name?, group?, typePrefixes?, maxInFlight?, maxDeliveries?, ackTimeout?}` (`url` an engine URL; text: JSON)",
    checkInboundSources,
    "sources",
  );
}

function checkInboundSources(
  value: unknown,
  setting: string,
  issues: Issues,
): InboundSourceConfig[] | undefined {
  if (!Array.isArray(value)) {
    issues.push({ setting, reason: "must be an array of {url, group?, …}" });
    return undefined;
  }
  const sources: InboundSourceConfig[] = [];
  const names = new Set<string>();
  let ok = true;
  value.forEach((entry: unknown, i) => {
    const at = `${setting}[${i}]`;
    const bad = (field: string, reason: string) => {
      issues.push({ setting: field === "" ? at : `${at}.${field}`, reason });
      ok = false;
    };
    if (!isRecord(entry)) {
      bad("", "must be an object {url, group?, …}");
      return;
    }
    for (const name of Object.keys(entry))
      if (!INBOUND_KEYS.has(name)) bad(name, "is not an inbound source field");
    if (typeof entry.url !== "string") {
      bad("url", `must be an engine URL (${engineSchemes()})`);
      return;
    }
    try {
      parseEngineUrl(entry.url, "inbound");
    } catch (error) {
      bad("url", error instanceof EngineUrlError ? `${error.part}: ${error.reason}` : String(error));
      return;
    }
    const name = entry.name ?? redactEngineUrl(entry.url);
    if (typeof name !== "string" || name === "") bad("name", "must be a non-empty string");
    else if (names.has(name)) bad("name", `${name} names two inbound sources`);
    else names.add(name);
    const group = entry.group ?? "herald";
    if (typeof group !== "string" || !/^[A-Za-z0-9_.-]{1,128}$/.test(group))
      bad("group", "must match [A-Za-z0-9_.-]{1,128}");
    const integer = (field: string, fallback: number, min: number): number => {
      const v = entry[field] ?? fallback;
      if (typeof v === "number" && Number.isSafeInteger(v) && v >= min) return v;
      bad(field, `must be an integer >= ${min}`);
      return fallback;
    };
    if (entry.ackTimeout !== undefined && entry.ackTimeoutMs !== undefined)
      bad("ackTimeout", "give ackTimeout or ackTimeoutMs, not both");
    const ackText = entry.ackTimeout ?? entry.ackTimeoutMs ?? 30_000;
    const ackTimeoutMs = typeof ackText === "string" ? parseDuration(ackText) : ackText;
    if (typeof ackTimeoutMs !== "number" || !Number.isSafeInteger(ackTimeoutMs) || ackTimeoutMs < 100)
      bad(
        entry.ackTimeout !== undefined ? "ackTimeout" : "ackTimeoutMs",
        "must be a duration of at least 100 ms",
      );
    let typePrefixes: string[] | undefined;
    if (entry.typePrefixes !== undefined) {
      if (
        Array.isArray(entry.typePrefixes) &&
        entry.typePrefixes.length > 0 &&
        entry.typePrefixes.every((p) => typeof p === "string" && p.length > 0)
      )
        typePrefixes = entry.typePrefixes as string[];
      else bad("typePrefixes", "must be a non-empty array of non-empty strings");
    }
    sources.push({
      url: entry.url,
      name: name as string,
      group: group as string,
      ...(typePrefixes !== undefined ? { typePrefixes } : {}),
      maxInFlight: integer("maxInFlight", 16, 1),
      maxDeliveries: integer("maxDeliveries", 5, 1),
      ackTimeoutMs: ackTimeoutMs as number,
    });
  });
  return ok ? sources : undefined;
}

// ---- the settings -----------------------------------------------------------------------------------

export const SETTINGS = [
  setting({
    key: "host",
    flag: "--host <host>",
    env: "HERALD_HOST",
    type: string(),
    default: "127.0.0.1",
    doc: "interface to listen on (`0.0.0.0` for all)",
  }),
  setting({
    key: "port",
    flag: "--port <port>",
    env: "HERALD_PORT",
    type: int(0, 65535),
    default: 8080,
    doc: "TCP port; `0` picks a free one (the started server reports it)",
  }),
  setting({
    key: "dataDir",
    flag: "--data <dir>",
    env: "HERALD_DATA_DIR",
    type: string(),
    default: "./data",
    doc: "directory of the SQLite database `herald.db` (created if missing)",
  }),
  setting({
    key: "storage",
    flag: "--storage <kind>",
    env: "HERALD_STORAGE",
    type: oneOf(STORAGE_KINDS),
    default: "sqlite",
    doc: "`sqlite` (durable, one instance), `memory` (gone on exit; tests, demos) or `postgres` (durable; several instances over one database act as one broker, see `database.url`)",
  }),
  setting({
    key: "database.url",
    flag: "--database-url <url>",
    env: "HERALD_DATABASE_URL",
    type: postgresUrl(),
    default: "",
    defaultNote: "none",
    doc: "with storage `postgres`: `postgres://user:password@host:port/database` (node-postgres connection string; `?sslmode=…` and `?application_name=…` apply). The password is redacted in logs and `/readyz`; prefer the env var to keep it off the process list",
  }),
  setting({
    key: "database.schema",
    flag: "--database-schema <name>",
    env: "HERALD_DATABASE_SCHEMA",
    type: identifier(),
    default: "herald",
    doc: "with storage `postgres`: the schema of Herald's tables (created and migrated on start); instances sharing a schema are one broker",
  }),
  setting({
    key: "database.poolSize",
    flag: "--database-pool-size <n>",
    env: "HERALD_DATABASE_POOL_SIZE",
    type: int(1, 100),
    default: 4,
    doc: "with storage `postgres`: connections of the log's pool (the listener and the cluster's coordinator add one each)",
  }),
  setting({
    key: "database.oldTransactionAfter",
    flag: "--database-old-transaction-after <duration>",
    env: "HERALD_DATABASE_OLD_TRANSACTION_AFTER",
    type: duration(100),
    default: 5000,
    doc: "with storage `postgres`: transactions of the database open longer than this are reported in `/readyz` (`oldTransactions`) and the metric `herald_postgres_oldest_transaction_seconds` (one holding the log's head row holds back every append)",
  }),
  setting({
    key: "nodeId",
    flag: "--node-id <id>",
    env: "HERALD_NODE_ID",
    type: nodeId(),
    default: "",
    defaultNote: "host name and process id",
    doc: "this instance's name in a cluster (leases, `/readyz`, the `node` label of metrics, all with storage `postgres`); unique among the instances sharing a database",
  }),
  setting({
    key: "cluster.partitions",
    flag: "--cluster-partitions <n>",
    env: "HERALD_CLUSTER_PARTITIONS",
    type: int(1, 1024),
    default: 8,
    doc: "with storage `postgres`: partitions of every subscription (by hash of the stream); each is delivered by one instance at a time, so this bounds how many instances share one subscription. All instances must agree",
  }),
  setting({
    key: "cluster.leaseMs",
    flag: "--cluster-lease <duration>",
    env: "HERALD_CLUSTER_LEASE",
    type: duration(300),
    default: 3000,
    doc: "with storage `postgres`: how long a partition lease lasts without a heartbeat (renewed every third of it); a dead instance's partitions move within about 4/3 of it",
  }),
  setting({
    key: "durability",
    flag: "--durability <level>",
    env: "HERALD_DURABILITY",
    type: oneOf(DURABILITIES),
    default: "full",
    doc: "`full`: fsync at every group commit, a 2xx survives power loss; `normal`: fsync at WAL checkpoints only, survives a process crash, may lose the last commits on power loss",
  }),
  setting({
    key: "commitSync",
    flag: "--commit-sync <where>",
    env: "HERALD_COMMIT_SYNC",
    type: oneOf(COMMIT_SYNCS),
    default: "thread-pool",
    doc: "with durability `full`, where a group commit's fsync runs: `thread-pool` (WAL fdatasync off the event loop, the answer waits for it), `inline` (SQLite fsyncs inside COMMIT, on the event loop)",
  }),
  setting({
    key: "checkpoint",
    flag: "--checkpoint <where>",
    env: "HERALD_CHECKPOINT",
    type: oneOf(CHECKPOINT_MODES),
    default: "background",
    doc: "where SQLite's WAL checkpoints run: `background` (a worker thread with its own connection, never on the event loop), `inline` (inside the commit that crosses the threshold)",
  }),
  setting({
    key: "dedupeWindow",
    flag: "--dedupe-window <positions>",
    env: "HERALD_DEDUPE_WINDOW",
    type: int(1, 2 ** 27),
    default: 4_000_000,
    doc: "SQLite: how many of the newest positions the dedupe by `source`+`id` covers (12 bytes of memory each; at 1 000 events/s the default spans ~67 minutes); appends with an exact expected version are recognised as retries over the whole stream whatever the window",
  }),
  setting({
    key: "apiKeys",
    env: "HERALD_API_KEYS",
    type: apiKeys(),
    default: [],
    defaultNote: "the API is open",
    doc: "API keys with scopes (and type prefixes for `publish`); with keys, every route but /healthz and /readyz needs one. No flag: keys stay out of the process list",
  }),
  setting({
    key: "logLevel",
    flag: "--log-level <level>",
    env: "HERALD_LOG_LEVEL",
    type: oneOf(LOG_LEVELS),
    default: "info",
    doc: "level of the server's logs",
  }),
  setting({
    key: "logFormat",
    flag: "--log-format <format>",
    env: "HERALD_LOG_FORMAT",
    type: oneOf(LOG_FORMATS),
    default: "auto",
    doc: "`json`: one JSON record a line on stdout; `pretty`: human lines on stderr; `auto`: `pretty` when stdout is a terminal, else `json`",
  }),
  setting({
    key: "shutdownDrainMs",
    flag: "--shutdown-drain-ms <ms>",
    env: "HERALD_SHUTDOWN_DRAIN_MS",
    type: int(0),
    default: 5000,
    doc: "how long a graceful close waits for in-flight requests and deliveries before cutting them",
  }),
  setting({
    key: "limits.maxBodyBytes",
    flag: "--max-body-bytes <bytes>",
    env: "HERALD_MAX_BODY_BYTES",
    type: int(1),
    default: 4 * 1024 * 1024,
    defaultNote: "4 MiB",
    doc: "largest accepted request body → 413",
  }),
  setting({
    key: "limits.maxBatchLength",
    flag: "--max-batch-length <n>",
    env: "HERALD_MAX_BATCH_LENGTH",
    type: int(1),
    default: 10_000,
    doc: "most events in one batch request → 413",
  }),
  setting({
    key: "limits.maxAttributeBytes",
    flag: "--max-attribute-bytes <bytes>",
    env: "HERALD_MAX_ATTRIBUTE_BYTES",
    type: int(1),
    default: 4096,
    doc: "largest context attribute or extension value of an ingested event (UTF-8 bytes; `data` excluded) and stream name → 400",
  }),
  setting({
    key: "limits.maxExtensionNameLength",
    flag: "--max-extension-name-length <n>",
    env: "HERALD_MAX_EXTENSION_NAME_LENGTH",
    type: int(1),
    default: 64,
    doc: "longest extension attribute name of an ingested event (characters; the name also counts toward `limits.maxAttributeBytes`) → 400",
  }),
  setting({
    key: "limits.maxJsonDepth",
    flag: "--max-json-depth <n>",
    env: "HERALD_MAX_JSON_DEPTH",
    type: int(1),
    default: 64,
    // 64: far above real documents (rarely past 20 levels), far below where recursive encoders
    // overflow the stack (JSON.stringify near 5 000 levels), and cheap to check (http/body.ts).
    doc: "deepest nesting of an event's JSON `data` and of any JSON request body (levels of `[`/`{`) → 422",
  }),
  setting({
    key: "limits.maxReadLimit",
    flag: "--max-read-limit <n>",
    env: "HERALD_MAX_READ_LIMIT",
    type: int(1),
    default: 1000,
    doc: "largest `limit` a read may ask for → 400",
  }),
  setting({
    key: "limits.requestTimeoutMs",
    flag: "--request-timeout-ms <ms>",
    env: "HERALD_REQUEST_TIMEOUT_MS",
    type: int(100),
    default: 300_000,
    doc: "time a client has to send a whole request (headers and body) → 408; headers alone get at most 60 s",
  }),
  setting({
    key: "limits.maxReadScan",
    flag: "--max-read-scan <n>",
    env: "HERALD_MAX_READ_SCAN",
    type: int(1),
    default: 10_000,
    doc: "positions one filtered `GET /events` scans before it answers (maybe with fewer events; follow `next`)",
  }),
  setting({
    key: "sinks.allowList",
    flag: "--sink-allow-list <hosts>",
    env: "HERALD_SINK_ALLOW_LIST",
    type: stringList("host names"),
    default: [],
    defaultNote: "any sink",
    doc: "when non-empty, every push sink must match one entry: host name, `*.example.com`, IP address or CIDR range",
  }),
  setting({
    key: "sinks.allowPrivateNetworks",
    flag: "--sink-allow-private-networks <bool>",
    env: "HERALD_SINK_ALLOW_PRIVATE_NETWORKS",
    type: bool(),
    default: true,
    doc: "allow push sinks on loopback and private networks (RFC 1918, CGNAT, unique-local); link-local and cloud metadata addresses are refused whatever this says",
  }),
  setting({
    key: "staleCheckpoints",
    flag: "--stale-checkpoints <action>",
    env: "HERALD_STALE_CHECKPOINTS",
    type: oneOf(STALE_CHECKPOINT_ACTIONS),
    default: "refuse",
    doc: "a subscription whose stored checkpoint the log cannot hold (the database was restored from an older backup, or the checkpoint is another log's): `refuse` holds its delivery until `POST /subscriptions/{id}/reset`; `rewind` moves it back to the last position this copy holds (redelivering, never skipping). Either way: a log line, `/readyz` `staleCheckpoints`, the metric `herald_stale_checkpoints_total`. See docs/backup-restore.md",
  }),
  setting({
    key: "inbound",
    env: "HERALD_INBOUND",
    type: inboundSources(),
    default: [],
    doc: "inbound bridges: engines (NATS JetStream, RabbitMQ, Redis Streams, MQTT 5) whose CloudEvents are ingested into the log, at least once, deduped by `source`+`id` (needs the bridges: `herald serve` has them)",
  }),
  setting({
    key: "cors.allowOrigins",
    flag: "--cors-allow-origins <origins>",
    env: "HERALD_CORS_ALLOW_ORIGINS",
    type: origins(),
    default: [],
    defaultNote: "no CORS headers",
    doc: "browser origins allowed to call the API cross-origin (CORS, with `Authorization`); API keys still apply",
  }),
  setting({
    key: "console.enabled",
    flag: "--console <bool>",
    env: "HERALD_CONSOLE",
    type: bool(),
    default: true,
    doc: "host the web console at `/console` (same API keys as the API, strict Content-Security-Policy); `false` turns it off",
  }),
  setting({
    key: "retention.maxAge",
    flag: "--retention-max-age <duration>",
    env: "HERALD_RETENTION_MAX_AGE",
    type: duration(),
    default: 0,
    defaultNote: "keep forever",
    doc: "drop events older than this from every stream (`7d`); events a subscription has not acked wait for it",
  }),
  setting({
    key: "retention.maxCount",
    flag: "--retention-max-count <n>",
    env: "HERALD_RETENTION_MAX_COUNT",
    type: int(0),
    default: 0,
    defaultNote: "no limit",
    doc: "keep at most this many events per stream, dropping the oldest (acked or not)",
  }),
  setting({
    key: "retention.rules",
    env: "HERALD_RETENTION_RULES",
    type: retentionRules(),
    default: [],
    doc: "retention per stream prefix or event type, on top of `retention.maxAge`/`maxCount`; an event goes when any rule covering it says so",
  }),
  setting({
    key: "retention.hardDelete",
    flag: "--retention-hard-delete <bool>",
    env: "HERALD_RETENTION_HARD_DELETE",
    type: bool(),
    default: true,
    doc: "allow `DELETE /streams/{stream}?hard=true` (events and tombstone go, the name may be reused); `false` keeps every tombstone",
  }),
  setting({
    key: "retention.interval",
    flag: "--retention-interval <duration>",
    env: "HERALD_RETENTION_INTERVAL",
    type: duration(1000),
    default: 60_000,
    doc: "how often retention runs in the background (it deletes in small transactions between appends)",
  }),
  setting({
    key: "schemas.enforce",
    flag: "--enforce-schemas <bool>",
    env: "HERALD_ENFORCE_SCHEMAS",
    type: bool(),
    default: false,
    doc: "refuse (422 `event-schema-mismatch`) events of a registered type whose `data` does not validate; accepted events get `dataschema` naming the version they match",
  }),
  setting({
    key: "schemas.compatibility",
    flag: "--schema-compatibility <mode>",
    env: "HERALD_SCHEMA_COMPATIBILITY",
    type: oneOf(COMPATIBILITY_MODES),
    default: "BACKWARD",
    doc: "compatibility mode of the schema registry for types without their own (`PUT /schemas/{type}/config`)",
  }),
  setting({
    key: "subscriptions.stalledAfter",
    flag: "--subscriptions-stalled-after <duration>",
    env: "HERALD_SUBSCRIPTIONS_STALLED_AFTER",
    type: duration(1000),
    default: 60_000,
    doc: "a subscription with lag and no event acked or dead-lettered for this long is `stalled` in its stats",
  }),
  setting({
    key: "subscriptions.deliveryLedger",
    flag: "--subscriptions-delivery-ledger <n>",
    env: "HERALD_SUBSCRIPTIONS_DELIVERY_LEDGER",
    type: int(1),
    default: 1000,
    doc: "delivery attempts kept in memory per subscription for `GET /subscriptions/{id}/deliveries` (older ones are dropped)",
  }),
] as const;

/** The config file option (not a setting: it says where settings come from). */
export const CONFIG_FILE = {
  flag: "--config <file>",
  env: "HERALD_CONFIG",
  doc: "JSON config file; flags and env override it",
} as const;

// ---- types derived from the rows --------------------------------------------------------------------

type Rows = typeof SETTINGS;
type Row = Rows[number];
type RowValue<R> = R extends Setting<string, infer V> ? V : never;
type Flat = { [R in Row as R["key"]]: RowValue<R> };
type Heads<F> = { [K in keyof F & string]: K extends `${infer H}.${string}` ? H : never }[keyof F & string];
type Below<F, H extends string> = {
  [K in keyof F & string as K extends `${H}.${infer Rest}` ? Rest : never]: F[K];
};
/** Turns `{ "limits.maxBodyBytes": number }` into `{ limits: { maxBodyBytes: number } }`, at any depth. */
type Nest<F> = {
  -readonly [K in Exclude<keyof F & string, `${string}.${string}`> | Heads<F>]: K extends keyof F
    ? F[K]
    : Nest<Below<F, K>>;
};
type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

/** A config key path: `port`, `limits.maxBodyBytes`. */
export type SettingKey = Row["key"];
export type ServerConfig = Nest<Flat>;
/** A deep-partial config, as given by `resolveConfig({ flags })`, `startServer()` or a config file. */
export type ServerConfigInput = DeepPartial<ServerConfig>;
export type LimitsConfig = ServerConfig["limits"];
export type SinkPolicyConfig = ServerConfig["sinks"];
export type RetentionConfig = ServerConfig["retention"];
export type DatabaseConfig = ServerConfig["database"];
export type ClusterConfig = ServerConfig["cluster"];

// ---- derived values -----------------------------------------------------------------------------------

const ROWS: ReadonlyArray<Setting> = SETTINGS;
const BY_KEY: ReadonlyMap<string, Setting> = new Map(ROWS.map((row) => [row.key, row]));
/** Every group key (`limits`, `sinks`): a prefix of some row's key. */
const GROUPS: ReadonlySet<string> = new Set(
  ROWS.flatMap((row) =>
    row.key
      .split(".")
      .slice(0, -1)
      .map((_, i, parts) => parts.slice(0, i + 1).join(".")),
  ),
);

/** The setting of a key path, if any. */
export function settingOf(key: string): Setting | undefined {
  return BY_KEY.get(key);
}

/** Builds a nested object from `key path → value` entries (`limits.maxBodyBytes` → `limits.maxBodyBytes`). */
export function nestSettings(entries: Iterable<readonly [string, unknown]>): ServerConfigInput {
  const root: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    const parts = key.split(".");
    let node = root;
    for (const part of parts.slice(0, -1)) {
      node[part] ??= {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1] as string] = value;
  }
  return root as ServerConfigInput;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

export const DEFAULT_CONFIG: Readonly<ServerConfig> = deepFreeze(
  nestSettings(ROWS.map((row) => [row.key, row.default])) as ServerConfig,
);

/** The env var of each setting, by key path. */
export const ENV_VARS = Object.freeze(Object.fromEntries(ROWS.map((row) => [row.key, row.env]))) as {
  readonly [R in Row as R["key"]]: R["env"];
};

/** Reads one setting from text (an env var or a flag): its value, or why the text is bad. */
export function parseSettingText(
  row: Setting,
  text: string,
): { ok: true; value: unknown } | { ok: false; reason: string } {
  const issues: Issues = [];
  const candidate = row.type.fromText(text, row.key, issues);
  const value = candidate === undefined ? undefined : row.type.check(candidate, row.key, issues);
  if (issues.length > 0 || value === undefined)
    return {
      ok: false,
      reason: issues.map((i) => (i.setting === row.key ? i.reason : `${i.setting}: ${i.reason}`)).join("; "),
    };
  return { ok: true, value };
}

/** Checks an untrusted nested layer (file or flags): known keys, right types, sane ranges. Names issues `prefix + key`. */
export function checkLayer(
  raw: Record<string, unknown>,
  prefix: string,
  issues: Issues,
): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (node: Record<string, unknown>, path: string) => {
    for (const [name, value] of Object.entries(node)) {
      if (value === undefined) continue;
      const key = path + name;
      const row = BY_KEY.get(key);
      if (row) {
        const checked = row.type.check(value, prefix + key, issues);
        if (checked !== undefined) out.set(key, checked);
      } else if (GROUPS.has(key)) {
        if (isRecord(value)) walk(value, `${key}.`);
        else issues.push({ setting: prefix + key, reason: "must be an object" });
      } else issues.push({ setting: prefix + key, reason: "is not a known setting" });
    }
  };
  walk(raw, "");
  return out;
}

/** Reads every setting's env var; issues are named by the env var (and the inner key for structured values). */
export function readEnvLayer(env: NodeJS.ProcessEnv, issues: Issues): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const row of ROWS) {
    const text = env[row.env]?.trim();
    if (text === undefined || text === "") continue;
    const candidate = row.type.fromText(text, row.env, issues);
    if (candidate === undefined) continue;
    const inner: Issues = [];
    const value = row.type.check(candidate, row.key, inner);
    for (const issue of inner)
      issues.push({
        setting: issue.setting === row.key ? row.env : `${row.env} (${issue.setting})`,
        reason: issue.reason,
      });
    if (value !== undefined) out.set(row.key, value);
  }
  return out;
}

// ---- helpers ---------------------------------------------------------------------------------------------

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function checkApiKeys(value: unknown, setting: string, issues: Issues): ApiKeyConfig[] | undefined {
  if (!Array.isArray(value)) {
    issues.push({ setting, reason: "must be an array of {key, scopes, typePrefixes?}" });
    return undefined;
  }
  const keys: ApiKeyConfig[] = [];
  const seen = new Set<string>();
  value.forEach((entry: unknown, i) => {
    const at = `${setting}[${i}]`;
    if (!isRecord(entry)) {
      issues.push({ setting: at, reason: "must be an object {key, scopes, typePrefixes?}" });
      return;
    }
    const { key, scopes, typePrefixes } = entry;
    let ok = true;
    if (typeof key !== "string" || key.length < 8 || /\s/.test(key)) {
      issues.push({
        setting: `${at}.key`,
        reason: "must be a string of at least 8 characters without spaces",
      });
      ok = false;
    } else if (seen.has(key)) {
      issues.push({ setting: `${at}.key`, reason: "is configured twice" });
      ok = false;
    }
    if (
      !Array.isArray(scopes) ||
      scopes.length === 0 ||
      !scopes.every((s) => (SCOPES as readonly unknown[]).includes(s))
    ) {
      issues.push({ setting: `${at}.scopes`, reason: `must be a non-empty array of ${SCOPES.join(", ")}` });
      ok = false;
    }
    if (
      typePrefixes !== undefined &&
      (!Array.isArray(typePrefixes) ||
        typePrefixes.length === 0 ||
        !typePrefixes.every((p) => typeof p === "string" && p.length > 0))
    ) {
      issues.push({
        setting: `${at}.typePrefixes`,
        reason: "must be a non-empty array of non-empty strings",
      });
      ok = false;
    }
    if (!ok) return;
    seen.add(key as string);
    const config: ApiKeyConfig = { key: key as string, scopes: [...new Set(scopes as Scope[])] };
    if (typePrefixes !== undefined) config.typePrefixes = [...(typePrefixes as string[])];
    keys.push(config);
  });
  return keys;
}

const RULE_KEYS = new Set(["streamPrefix", "type", "maxAge", "maxAgeMs", "maxCount", "dropUnacked"]);

function checkRetentionRules(
  value: unknown,
  setting: string,
  issues: Issues,
): RetentionRuleConfig[] | undefined {
  if (!Array.isArray(value)) {
    issues.push({ setting, reason: "must be an array of {streamPrefix?, type?, maxAge?, maxCount?}" });
    return undefined;
  }
  const rules: RetentionRuleConfig[] = [];
  let ok = true;
  value.forEach((entry: unknown, i) => {
    const at = `${setting}[${i}]`;
    const bad = (field: string, reason: string) => {
      issues.push({ setting: field === "" ? at : `${at}.${field}`, reason });
      ok = false;
    };
    if (!isRecord(entry)) {
      bad("", "must be an object {streamPrefix?, type?, maxAge?, maxCount?}");
      return;
    }
    for (const name of Object.keys(entry))
      if (!RULE_KEYS.has(name)) bad(name, "is not a retention rule field");
    const rule: RetentionRuleConfig = {};
    for (const field of ["streamPrefix", "type"] as const) {
      const text = entry[field];
      if (text === undefined) continue;
      if (typeof text === "string" && text.length > 0) rule[field] = text;
      else bad(field, "must be a non-empty string");
    }
    if (entry.maxAge !== undefined && entry.maxAgeMs !== undefined)
      bad("maxAge", "give maxAge or maxAgeMs, not both");
    const age = entry.maxAge ?? entry.maxAgeMs;
    if (age !== undefined) {
      const ms = typeof age === "string" ? parseDuration(age) : age;
      if (typeof ms === "number" && Number.isSafeInteger(ms) && ms >= 0) rule.maxAgeMs = ms;
      else
        bad(entry.maxAge !== undefined ? "maxAge" : "maxAgeMs", "must be a duration such as 30s, 12h or 7d");
    }
    if (entry.maxCount !== undefined) {
      const count = entry.maxCount;
      if (typeof count === "number" && Number.isSafeInteger(count) && count >= 0) rule.maxCount = count;
      else bad("maxCount", "must be an integer >= 0");
    }
    if (entry.dropUnacked !== undefined) {
      if (typeof entry.dropUnacked === "boolean") rule.dropUnacked = entry.dropUnacked;
      else bad("dropUnacked", "must be true or false");
    }
    if (age === undefined && entry.maxCount === undefined) bad("", "needs maxAge and/or maxCount");
    rules.push(rule);
  });
  return ok ? rules : undefined;
}

/**
 * API keys as text: either a JSON array like the config file's `apiKeys`, or the compact form
 * `key:scope,scope[:prefix,prefix]` with entries separated by `;` (e.g. `k1:publish:com.acme.;k2:admin`).
 */
function parseApiKeysText(text: string, setting: string, issues: Issues): unknown {
  if (text.startsWith("[")) {
    try {
      return JSON.parse(text);
    } catch (error) {
      issues.push({ setting, reason: `is not valid JSON (${(error as Error).message})` });
      return undefined;
    }
  }
  const keys: Array<Record<string, unknown>> = [];
  for (const entry of text.split(";").map((s) => s.trim())) {
    if (entry === "") continue;
    const parts = entry.split(":");
    if (parts.length < 2 || parts.length > 3) {
      issues.push({
        setting,
        reason: `entry ${JSON.stringify(maskKey(entry))} is not key:scopes[:typePrefixes]`,
      });
      continue;
    }
    const [key, scopes, prefixes] = parts as [string, string, string | undefined];
    const config: Record<string, unknown> = { key, scopes: splitList(scopes) };
    if (prefixes !== undefined) config.typePrefixes = splitList(prefixes);
    keys.push(config);
  }
  return keys;
}

/** Never echo a whole secret into an error message or log line. */
function maskKey(entry: string): string {
  const key = entry.split(":")[0] ?? "";
  return `${key.slice(0, 3)}…${entry.slice(key.length)}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
