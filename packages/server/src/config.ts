// Server configuration: one typed object, resolved from flags > HERALD_* env vars > a JSON file > defaults.
// Every bad value is reported by name (flag, env var or file key) in one ConfigError. The settings themselves
// (names, types, defaults, docs) are the rows of ./settings.ts.
import { readFileSync } from "node:fs";
import {
  CONFIG_FILE,
  checkLayer,
  DEFAULT_CONFIG,
  type Issues,
  isRecord,
  readEnvLayer,
  type ServerConfig,
  type ServerConfigInput,
} from "./settings.js";

export {
  type ApiKeyConfig,
  type ClusterConfig,
  type DatabaseConfig,
  DEFAULT_CONFIG,
  type Durability,
  ENV_VARS,
  type InboundSourceConfig,
  LOG_LEVELS,
  type LimitsConfig,
  type LogFormatSetting,
  type LogLevel,
  type RetentionConfig,
  type RetentionRuleConfig,
  SCOPES,
  type Scope,
  type ServerConfig,
  type ServerConfigInput,
  type SinkPolicyConfig,
  type StorageKind,
} from "./settings.js";

export class ConfigError extends Error {
  /** One entry per bad setting: where it came from (`--port`, `HERALD_PORT`, `file:port`) and why. */
  readonly issues: ReadonlyArray<{ readonly setting: string; readonly reason: string }>;
  constructor(issues: ReadonlyArray<{ setting: string; reason: string }>) {
    super(`invalid configuration: ${issues.map((i) => `${i.setting}: ${i.reason}`).join("; ")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** Env var naming the config file when `file` is not given. */
export const CONFIG_FILE_ENV = CONFIG_FILE.env;

/**
 * Resolves the server configuration. Precedence per setting: `flags` > `env` (HERALD_*) > `file` (JSON) >
 * defaults. `env` is only read when given (the CLI passes `process.env`). Throws ConfigError.
 */
export function resolveConfig(
  input: { flags?: ServerConfigInput; env?: NodeJS.ProcessEnv; file?: string } = {},
): ServerConfig {
  const issues: Issues = [];
  const filePath = input.file ?? input.env?.[CONFIG_FILE_ENV];
  const fromFile = filePath ? readConfigFile(filePath, issues) : new Map<string, unknown>();
  const fromEnv = input.env ? readEnvLayer(input.env, issues) : new Map<string, unknown>();
  const fromFlags = input.flags ? checkLayer(input.flags, "--", issues) : new Map<string, unknown>();
  if (issues.length > 0) throw new ConfigError(issues);
  // Defaults are copied so that no resolved config shares (frozen) arrays with DEFAULT_CONFIG.
  const config = structuredClone(DEFAULT_CONFIG) as ServerConfig;
  for (const [key, value] of [...fromFile, ...fromEnv, ...fromFlags]) setPath(config, key, value);
  if (config.storage === "postgres" && config.database.url === "")
    throw new ConfigError([
      {
        setting: "database.url",
        reason: "is required with storage postgres (--database-url, HERALD_DATABASE_URL)",
      },
    ]);
  return config;
}

function setPath(target: object, key: string, value: unknown): void {
  const parts = key.split(".");
  let node = target as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
  node[parts[parts.length - 1] as string] = value;
}

function readConfigFile(path: string, issues: Issues): Map<string, unknown> {
  const none = new Map<string, unknown>();
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    issues.push({ setting: `config file ${path}`, reason: `cannot be read (${(error as Error).message})` });
    return none;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    issues.push({
      setting: `config file ${path}`,
      reason: `is not valid JSON (${(error as Error).message})`,
    });
    return none;
  }
  if (!isRecord(parsed)) {
    issues.push({ setting: `config file ${path}`, reason: "must hold a JSON object" });
    return none;
  }
  return checkLayer(parsed, `${path}:`, issues);
}
