// Server configuration: one typed object, resolved from flags > HERALD_* env vars > a JSON file > defaults.
// Every bad value is reported by name (flag, env var or file key) in one ConfigError.
import { readFileSync } from "node:fs";

export type Scope = "publish" | "consume" | "admin";
export const SCOPES: readonly Scope[] = ["publish", "consume", "admin"];

export interface ApiKeyConfig {
  key: string;
  scopes: Scope[];
  /** When set, a `publish` key may only publish events whose `type` starts with one of these. */
  typePrefixes?: string[];
}

export interface LimitsConfig {
  /** Largest accepted request body, in bytes (413 past it). */
  maxBodyBytes: number;
  /** Most events in one batch request (413 past it). */
  maxBatchLength: number;
  /** Largest context attribute or extension value of an ingested event, in UTF-8 bytes (400 past it). */
  maxAttributeBytes: number;
  /** Largest `limit` a read may ask for (400 past it). */
  maxReadLimit: number;
  /** Positions a filtered `GET /events` scans before it answers (possibly with fewer events). */
  maxReadScan: number;
}

export interface SinkPolicyConfig {
  /** When non-empty, every push sink must match one entry: host name, `*.example.com`, IP address or CIDR range. */
  allowList: string[];
  /** Allow sinks on loopback and private networks (RFC 1918, CGNAT, unique-local). Link-local and cloud
   * metadata addresses are refused whatever this says. */
  allowPrivateNetworks: boolean;
}

export type StorageKind = "sqlite" | "memory";
export type Durability = "full" | "normal";
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
export const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export interface ServerConfig {
  host: string;
  /** 0 picks a free port (the started server reports the real one). */
  port: number;
  /** Directory of the SQLite database (`<dataDir>/herald.db`). */
  dataDir: string;
  storage: StorageKind;
  /** `full`: fsync at every group commit; `normal`: fsync at WAL checkpoints only. */
  durability: Durability;
  /** No keys: the API is open. With keys, every route but /healthz and /readyz needs one. */
  apiKeys: ApiKeyConfig[];
  limits: LimitsConfig;
  logLevel: LogLevel;
  sinks: SinkPolicyConfig;
  /** How long a graceful close waits for in-flight requests and deliveries before cutting them. */
  shutdownDrainMs: number;
}

export const DEFAULT_CONFIG: Readonly<ServerConfig> = Object.freeze({
  host: "127.0.0.1",
  port: 8080,
  dataDir: "./data",
  storage: "sqlite",
  durability: "full",
  apiKeys: [],
  limits: {
    maxBodyBytes: 4 * 1024 * 1024,
    maxBatchLength: 10_000,
    maxAttributeBytes: 4096,
    maxReadLimit: 1000,
    maxReadScan: 10_000,
  },
  logLevel: "info",
  sinks: { allowList: [], allowPrivateNetworks: true },
  shutdownDrainMs: 5000,
});

/** A deep-partial config, as given by flags or a config file. */
export interface ServerConfigInput {
  host?: string;
  port?: number;
  dataDir?: string;
  storage?: StorageKind;
  durability?: Durability;
  apiKeys?: ApiKeyConfig[];
  limits?: Partial<LimitsConfig>;
  logLevel?: LogLevel | string;
  sinks?: Partial<SinkPolicyConfig>;
  shutdownDrainMs?: number;
}

export class ConfigError extends Error {
  /** One entry per bad setting: where it came from (`--port`, `HERALD_PORT`, `file:port`) and why. */
  readonly issues: ReadonlyArray<{ readonly setting: string; readonly reason: string }>;
  constructor(issues: ReadonlyArray<{ setting: string; reason: string }>) {
    super(`invalid configuration: ${issues.map((i) => `${i.setting}: ${i.reason}`).join("; ")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** The env var for each setting (limits and sinks flattened). */
export const ENV_VARS = {
  host: "HERALD_HOST",
  port: "HERALD_PORT",
  dataDir: "HERALD_DATA_DIR",
  storage: "HERALD_STORAGE",
  durability: "HERALD_DURABILITY",
  apiKeys: "HERALD_API_KEYS",
  logLevel: "HERALD_LOG_LEVEL",
  shutdownDrainMs: "HERALD_SHUTDOWN_DRAIN_MS",
  "limits.maxBodyBytes": "HERALD_MAX_BODY_BYTES",
  "limits.maxBatchLength": "HERALD_MAX_BATCH_LENGTH",
  "limits.maxAttributeBytes": "HERALD_MAX_ATTRIBUTE_BYTES",
  "limits.maxReadLimit": "HERALD_MAX_READ_LIMIT",
  "limits.maxReadScan": "HERALD_MAX_READ_SCAN",
  "sinks.allowList": "HERALD_SINK_ALLOW_LIST",
  "sinks.allowPrivateNetworks": "HERALD_SINK_ALLOW_PRIVATE_NETWORKS",
} as const;

/** Env var naming the config file when `file` is not given. */
export const CONFIG_FILE_ENV = "HERALD_CONFIG";

type Issues = Array<{ setting: string; reason: string }>;

/**
 * Resolves the server configuration. Precedence per setting: `flags` > `env` (HERALD_*) > `file` (JSON) >
 * defaults. `env` is only read when given (the CLI passes `process.env`). Throws ConfigError.
 */
export function resolveConfig(
  input: { flags?: ServerConfigInput; env?: NodeJS.ProcessEnv; file?: string } = {},
): ServerConfig {
  const issues: Issues = [];
  const filePath = input.file ?? input.env?.[CONFIG_FILE_ENV];
  const fromFile = filePath ? readConfigFile(filePath, issues) : {};
  const fromEnv = input.env ? readEnv(input.env, issues) : {};
  const fromFlags = input.flags ? checkInput(input.flags, "--", issues) : {};
  if (issues.length > 0) throw new ConfigError(issues);
  const layers = [fromFile, fromEnv, fromFlags];
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    apiKeys: [...DEFAULT_CONFIG.apiKeys],
    limits: { ...DEFAULT_CONFIG.limits },
    sinks: { ...DEFAULT_CONFIG.sinks, allowList: [...DEFAULT_CONFIG.sinks.allowList] },
  };
  for (const layer of layers) {
    const { limits, sinks, ...top } = layer;
    Object.assign(config, dropUndefined(top));
    if (limits) Object.assign(config.limits, dropUndefined(limits));
    if (sinks) Object.assign(config.sinks, dropUndefined(sinks));
  }
  return config;
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function readConfigFile(path: string, issues: Issues): ServerConfigInput {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    issues.push({ setting: `config file ${path}`, reason: `cannot be read (${(error as Error).message})` });
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    issues.push({
      setting: `config file ${path}`,
      reason: `is not valid JSON (${(error as Error).message})`,
    });
    return {};
  }
  if (!isRecord(parsed)) {
    issues.push({ setting: `config file ${path}`, reason: "must hold a JSON object" });
    return {};
  }
  return checkInput(parsed, `${path}:`, issues);
}

// ---- validation of one layer ----------------------------------------------------------------------

const TOP_KEYS = new Set([
  "host",
  "port",
  "dataDir",
  "storage",
  "durability",
  "apiKeys",
  "limits",
  "logLevel",
  "sinks",
  "shutdownDrainMs",
]);
const LIMIT_KEYS: ReadonlyArray<keyof LimitsConfig> = [
  "maxBodyBytes",
  "maxBatchLength",
  "maxAttributeBytes",
  "maxReadLimit",
  "maxReadScan",
];

/** Checks an untrusted layer (flags or file): known keys, right types, sane ranges. */
function checkInput(raw: object, prefix: string, issues: Issues): ServerConfigInput {
  const input = raw as Record<string, unknown>;
  const out: ServerConfigInput = {};
  const name = (key: string) => `${prefix}${key}`;
  for (const key of Object.keys(input)) {
    if (!TOP_KEYS.has(key) && input[key] !== undefined)
      issues.push({ setting: name(key), reason: "is not a known setting" });
  }
  if (input.host !== undefined) out.host = checkString(input.host, name("host"), issues);
  if (input.port !== undefined) out.port = checkInt(input.port, name("port"), issues, 0, 65535);
  if (input.dataDir !== undefined) out.dataDir = checkString(input.dataDir, name("dataDir"), issues);
  if (input.storage !== undefined)
    out.storage = checkEnum(input.storage, ["sqlite", "memory"] as const, name("storage"), issues);
  if (input.durability !== undefined)
    out.durability = checkEnum(input.durability, ["full", "normal"] as const, name("durability"), issues);
  if (input.logLevel !== undefined)
    out.logLevel = checkEnum(input.logLevel, LOG_LEVELS, name("logLevel"), issues);
  if (input.shutdownDrainMs !== undefined)
    out.shutdownDrainMs = checkInt(input.shutdownDrainMs, name("shutdownDrainMs"), issues, 0);
  if (input.apiKeys !== undefined) out.apiKeys = checkApiKeys(input.apiKeys, name("apiKeys"), issues);
  if (input.limits !== undefined) {
    if (!isRecord(input.limits)) issues.push({ setting: name("limits"), reason: "must be an object" });
    else {
      const limits: Partial<LimitsConfig> = {};
      for (const key of Object.keys(input.limits)) {
        if (!(LIMIT_KEYS as readonly string[]).includes(key) && input.limits[key] !== undefined)
          issues.push({ setting: name(`limits.${key}`), reason: "is not a known setting" });
      }
      for (const key of LIMIT_KEYS) {
        const value = input.limits[key];
        if (value !== undefined) limits[key] = checkInt(value, name(`limits.${key}`), issues, 1);
      }
      out.limits = limits;
    }
  }
  if (input.sinks !== undefined) {
    if (!isRecord(input.sinks)) issues.push({ setting: name("sinks"), reason: "must be an object" });
    else {
      const sinks: Partial<SinkPolicyConfig> = {};
      for (const key of Object.keys(input.sinks)) {
        if (key !== "allowList" && key !== "allowPrivateNetworks" && input.sinks[key] !== undefined)
          issues.push({ setting: name(`sinks.${key}`), reason: "is not a known setting" });
      }
      const { allowList, allowPrivateNetworks } = input.sinks;
      if (allowList !== undefined) {
        if (Array.isArray(allowList) && allowList.every((h) => typeof h === "string" && h.length > 0))
          sinks.allowList = [...allowList];
        else issues.push({ setting: name("sinks.allowList"), reason: "must be an array of host names" });
      }
      if (allowPrivateNetworks !== undefined) {
        if (typeof allowPrivateNetworks === "boolean") sinks.allowPrivateNetworks = allowPrivateNetworks;
        else issues.push({ setting: name("sinks.allowPrivateNetworks"), reason: "must be true or false" });
      }
      out.sinks = sinks;
    }
  }
  return out;
}

function checkString(value: unknown, setting: string, issues: Issues): string | undefined {
  if (typeof value === "string" && value.length > 0) return value;
  issues.push({ setting, reason: "must be a non-empty string" });
  return undefined;
}

function checkInt(
  value: unknown,
  setting: string,
  issues: Issues,
  min: number,
  max?: number,
): number | undefined {
  if (
    typeof value === "number" &&
    Number.isSafeInteger(value) &&
    value >= min &&
    (max === undefined || value <= max)
  )
    return value;
  const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
  issues.push({ setting, reason: `must be an integer ${range} (got ${JSON.stringify(value)})` });
  return undefined;
}

function checkEnum<T extends string>(
  value: unknown,
  allowed: readonly T[],
  setting: string,
  issues: Issues,
): T | undefined {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  issues.push({ setting, reason: `must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)})` });
  return undefined;
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

// ---- environment ---------------------------------------------------------------------------------

function readEnv(env: NodeJS.ProcessEnv, issues: Issues): ServerConfigInput {
  const get = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  };
  const raw: Record<string, unknown> = {};
  const limits: Record<string, unknown> = {};
  const sinks: Record<string, unknown> = {};
  for (const [setting, envName] of Object.entries(ENV_VARS)) {
    const text = get(envName);
    if (text === undefined) continue;
    const [group, key] = setting.includes(".")
      ? (setting.split(".") as [string, string])
      : [undefined, setting];
    let value: unknown = text;
    if (setting === "apiKeys") value = parseApiKeysEnv(text, envName, issues);
    else if (setting === "sinks.allowList") value = splitList(text);
    else if (setting === "sinks.allowPrivateNetworks") value = parseBool(text, envName, issues);
    else if (setting === "port" || setting === "shutdownDrainMs" || group === "limits")
      value = parseIntText(text, envName, issues);
    if (value === undefined) continue;
    if (group === "limits") limits[key] = value;
    else if (group === "sinks") sinks[key] = value;
    else raw[key] = value;
  }
  if (Object.keys(limits).length > 0) raw.limits = limits;
  if (Object.keys(sinks).length > 0) raw.sinks = sinks;
  // Report env problems under the env var's name rather than a synthetic key.
  const layerIssues: Issues = [];
  const checked = checkInput(raw, "", layerIssues);
  for (const issue of layerIssues) {
    const vars = ENV_VARS as Record<string, string>;
    const exact = vars[issue.setting];
    const base = vars[issue.setting.replace(/\[.*$/, "")];
    const setting = exact ?? (base ? `${base} (${issue.setting})` : issue.setting);
    issues.push({ setting, reason: issue.reason });
  }
  return checked;
}

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function parseBool(text: string, setting: string, issues: Issues): boolean | undefined {
  const lower = text.toLowerCase();
  if (["true", "1", "yes", "on"].includes(lower)) return true;
  if (["false", "0", "no", "off"].includes(lower)) return false;
  issues.push({ setting, reason: `must be true or false (got ${JSON.stringify(text)})` });
  return undefined;
}

function parseIntText(text: string, setting: string, issues: Issues): number | undefined {
  if (/^-?\d+$/.test(text)) return Number(text);
  issues.push({ setting, reason: `must be an integer (got ${JSON.stringify(text)})` });
  return undefined;
}

/**
 * HERALD_API_KEYS: either a JSON array like the config file's `apiKeys`, or the compact form
 * `key:scope,scope[:prefix,prefix]` with entries separated by `;` (e.g. `k1:publish:com.acme.;k2:admin`).
 */
function parseApiKeysEnv(text: string, setting: string, issues: Issues): unknown {
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
