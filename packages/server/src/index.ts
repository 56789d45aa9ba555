// @herald/server: the Herald broker. Start it with startServer(); resolve settings with resolveConfig().
export {
  type ApiKeyConfig,
  ConfigError,
  CONFIG_FILE_ENV,
  DEFAULT_CONFIG,
  type Durability,
  ENV_VARS,
  type LimitsConfig,
  type LogLevel,
  resolveConfig,
  type Scope,
  type ServerConfig,
  type ServerConfigInput,
  type SinkPolicyConfig,
  type StorageKind,
} from "./config.js";
export {
  CONFIG_FILE,
  nestSettings,
  parseSettingText,
  SETTINGS,
  type Setting,
  type SettingKey,
  type SettingType,
  settingOf,
} from "./settings.js";
export {
  SETTINGS_TABLE_END,
  SETTINGS_TABLE_START,
  settingsTable,
  withSettingsTable,
} from "./settings-docs.js";
export { type Principal, principalOf, requiredAccess } from "./http/auth.js";
export { problemOf } from "./http/errors.js";
export {
  HttpProblem,
  type HttpProblemOptions,
  type ProblemCode,
  type ProblemFieldError,
  sendJson,
  sendProblem,
} from "./http/problem.js";
export { type RequestContext, type RouteHandler, Router } from "./http/router.js";
export { createLogger, type Logger } from "./observability/logger.js";
export { DATABASE_FILE, type HeraldServer, type StartServerOptions, startServer } from "./server.js";
