// @herald/server: the Herald broker. Start it with startServer(); resolve settings with resolveConfig().
export {
  type ApiKeyConfig,
  type ClusterConfig,
  type InboundSourceConfig,
  ConfigError,
  type DatabaseConfig,
  CONFIG_FILE_ENV,
  DEFAULT_CONFIG,
  type Durability,
  ENV_VARS,
  type LimitsConfig,
  type LogFormatSetting,
  type LogLevel,
  type RetentionConfig,
  type RetentionRuleConfig,
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
  parseDuration,
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
export { OPEN_PRINCIPAL, type Principal } from "./http/auth.js";
export {
  ENGINE_SCHEMES,
  type Engine,
  type EngineUrl,
  EngineUrlError,
  type EngineUrlUse,
  engineSchemes,
  isEngineUrl,
  parseEngineUrl,
  redactEngineUrl,
} from "./bridges/engine-url.js";
export type {
  BridgeCancel,
  BridgeFactory,
  BridgeHost,
  Bridges,
  EngineSinkOutcome,
  EngineSinkTarget,
  IngestedEvent,
} from "./bridges/hook.js";
export { answerError, problemOf } from "./http/errors.js";
export {
  HttpProblem,
  type HttpProblemOptions,
  type ProblemCode,
  type ProblemFieldError,
  sendJson,
  sendProblem,
  sendText,
} from "./http/problem.js";
export {
  type Access,
  accessOf,
  type Authorize,
  type RequestContext,
  type RouteDefinition,
  type RouteHandler,
  type RouteInfo,
  Router,
  type RouterOptions,
  type UpgradeContext,
  type UpgradeHandler,
  type UpgradeRouteDefinition,
} from "./http/router.js";
export { CorsPolicy } from "./http/cors.js";
export { redactDatabaseUrl, redactUrl } from "./observability/redact.js";
export {
  createLogger,
  formatPretty,
  type LogFormat,
  type Logger,
  resolveLogFormat,
} from "./observability/logger.js";
export { type RetentionPassReport, retentionRules } from "./retention.js";
export { SERVER_VERSION } from "./version.js";
export {
  DATABASE_FILE,
  type HeraldServer,
  type StartServerOptions,
  startServer,
  storageWhere,
} from "./server.js";
