// `herald serve`: start the broker with flags > HERALD_* env > config file > defaults. Its options are the
// server's setting rows (SETTINGS): none is declared here, so a new setting gets its flag and help for free.
import {
  CONFIG_FILE,
  ConfigError,
  createLogger,
  type HeraldServer,
  type Logger,
  nestSettings,
  parseSettingText,
  resolveConfig,
  resolveLogFormat,
  SETTINGS,
  type ServerConfig,
  type ServerConfigInput,
  storageWhere,
  type Setting,
  startServer,
} from "@herald/server";
import { engineBridges } from "@herald/bridges";
import { type Command, InvalidArgumentError, Option } from "commander";
import { resolve } from "node:path";
import { CliError, ExitCode } from "../errors.js";
import { nativeBindingProblem } from "../native-binding.js";
import type { Output } from "../output.js";

/** What commander hands serve's action: the config file and one attribute per setting flag. */
export interface ServeFlags {
  readonly config?: string;
  readonly [attribute: string]: unknown;
}

const ROWS: ReadonlyArray<Setting> = SETTINGS;
/** commander attribute (`maxBodyBytes` for `--max-body-bytes`) → its setting. */
const BY_ATTRIBUTE: ReadonlyMap<string, Setting> = new Map(
  ROWS.flatMap((row) => (row.flag ? [[new Option(row.flag).attributeName(), row] as const] : [])),
);

/** Adds `--config` and one flag per setting row; rows without a flag are listed after the options. */
export function addServeOptions(command: Command): Command {
  command.addOption(new Option(CONFIG_FILE.flag, `${CONFIG_FILE.doc} (env ${CONFIG_FILE.env})`));
  for (const row of ROWS) {
    if (!row.flag) continue;
    const option = new Option(row.flag, `${plain(row.doc)} (${origin(row)})`);
    if (row.type.choices) option.choices(row.type.choices);
    else
      option.argParser((text: string) => {
        const parsed = parseSettingText(row, text.trim());
        if (!parsed.ok) throw new InvalidArgumentError(`${parsed.reason}.`);
        return parsed.value;
      });
    command.addOption(option);
  }
  const unflagged = ROWS.filter((row) => !row.flag);
  if (unflagged.length > 0) {
    command.addHelpText(
      "after",
      [
        "",
        "Settings without a flag (env var, or the config file key):",
        ...unflagged.flatMap((row) => [
          `  ${row.env} (file key ${row.key}, ${defaultText(row)})`,
          ...wrap(plain(row.doc), 76).map((line) => `    ${line}`),
        ]),
        "",
      ].join("\n"),
    );
  }
  return command;
}

/** Maps serve's flags onto ServerConfig keys; unset flags stay unset so env and file apply. */
export function configFlags(flags: ServeFlags): ServerConfigInput {
  const entries: Array<[string, unknown]> = [];
  for (const [attribute, row] of BY_ATTRIBUTE) {
    if (flags[attribute] !== undefined) entries.push([row.key, flags[attribute]]);
  }
  return nestSettings(entries);
}

function origin(row: Setting): string {
  return `env ${row.env}, ${defaultText(row)}`;
}

function defaultText(row: Setting): string {
  const value = row.type.show(row.default);
  return `default ${value}${row.defaultNote ? ` (${row.defaultNote})` : ""}`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  return line === "" ? lines : [...lines, line];
}

/** Help is plain text: drop the docs' Markdown code marks. */
function plain(doc: string): string {
  return doc.replaceAll("`", "");
}

/** How serve runs the server: its logger, and whether the server logs lifecycle messages itself. */
export interface ServeStartOptions {
  readonly logger: Logger;
  readonly lifecycleLogs: boolean;
}

/** Starts a server from a resolved config; tests inject one to simulate start failures. */
export type StartServer = (config: ServerConfig, options: ServeStartOptions) => Promise<HeraldServer>;

// With the engine bridges: sinks that are engine URLs, and the `inbound` sources (their clients load on first use).
const startWith: StartServer = (config, options) =>
  startServer({ ...config, ...options, bridges: engineBridges() });

/**
 * Lifecycle messages appear once. `pretty` (a terminal): serve prints its human lines on stderr and the
 * server's other records become human lines there too. `json`: every line is a JSON record on stdout, the
 * lifecycle ones logged by the server (with the URL, version and data directory as fields).
 */
export async function serve(flags: ServeFlags, out: Output, start: StartServer = startWith): Promise<void> {
  let config: ServerConfig;
  try {
    // HERALD_CONFIG names the file when --config is not given (resolveConfig reads it from env).
    config = resolveConfig({
      flags: configFlags(flags),
      env: process.env,
      ...(flags.config !== undefined ? { file: flags.config } : {}),
    });
  } catch (error) {
    // The message names every bad setting and where it came from (flag, env var or file key).
    if (error instanceof ConfigError) throw new CliError(error.message, ExitCode.usage);
    throw error;
  }
  if (config.storage === "sqlite") config = { ...config, dataDir: resolve(config.dataDir) };
  const pretty = resolveLogFormat(config.logFormat) === "pretty";
  const logger = pretty
    ? createLogger(config.logLevel, process.stderr, "pretty")
    : createLogger(config.logLevel, undefined, "json");
  const say = pretty ? (line: string) => out.message(line) : undefined;
  // Listen for signals before announcing the URL: whoever reads that line may signal at once.
  const stopRequested = untilSignal((signal) => {
    const forced = "send it again to force";
    if (say) say(`herald: ${signal} received, shutting down (${forced})`);
    else logger.info({ signal }, `herald: ${signal} received (${forced})`);
  });
  let running: HeraldServer;
  try {
    running = await start(config, { logger, lifecycleLogs: !pretty });
  } catch (error) {
    const native = nativeBindingProblem(error);
    if (native !== undefined) throw new CliError(`cannot start the server: ${native}`, ExitCode.failure);
    throw new CliError(`cannot start the server: ${describeStartError(error, config)}`);
  }
  say?.(`herald listening on ${running.url} (data: ${storageWhere(running.config)})`);
  await stopRequested;
  await running.close();
  say?.("herald stopped");
  // pino writes asynchronously: let the last records out before the process ends.
  await new Promise<void>((done) => logger.flush(() => done()));
}
function describeStartError(error: unknown, config: ServerConfig): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EADDRINUSE") return `${config.host}:${config.port} is already in use (choose another --port)`;
  if (code === "EACCES") return `no permission to listen on ${config.host}:${config.port}`;
  return error instanceof Error ? error.message : String(error);
}

/** Resolves on the first SIGINT or SIGTERM; a second one ends the process at once. */
export function untilSignal(announce: (signal: NodeJS.Signals) => void): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      announce(signal);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      const force = () => process.exit(ExitCode.failure);
      process.once("SIGINT", force);
      process.once("SIGTERM", force);
      resolve();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
