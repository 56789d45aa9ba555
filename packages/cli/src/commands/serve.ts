// `herald serve`: start the broker with flags > HERALD_* env > config file > defaults.
import {
  ConfigError,
  type HeraldServer,
  resolveConfig,
  type ServerConfig,
  type ServerConfigInput,
  startServer,
} from "@herald/server";
import { resolve } from "node:path";
import { CliError, ExitCode } from "../errors.js";
import type { Output } from "../output.js";

export interface ServeFlags {
  readonly host?: string;
  readonly port?: number;
  readonly data?: string;
  readonly storage?: ServerConfig["storage"];
  readonly durability?: ServerConfig["durability"];
  readonly config?: string;
  readonly logLevel?: string;
}

/** Maps serve's flags onto ServerConfig names; unset flags stay unset so env and file apply. */
export function configFlags(flags: ServeFlags): ServerConfigInput {
  const mapped: ServerConfigInput = {};
  if (flags.host !== undefined) mapped.host = flags.host;
  if (flags.port !== undefined) mapped.port = flags.port;
  if (flags.data !== undefined) mapped.dataDir = flags.data;
  if (flags.storage !== undefined) mapped.storage = flags.storage;
  if (flags.durability !== undefined) mapped.durability = flags.durability;
  if (flags.logLevel !== undefined) mapped.logLevel = flags.logLevel;
  return mapped;
}

export async function serve(flags: ServeFlags, out: Output): Promise<void> {
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
  // Listen for signals before announcing the URL: whoever reads that line may signal at once.
  const stopRequested = untilSignal(out);
  let running: HeraldServer;
  try {
    running = await startServer(config);
  } catch (error) {
    throw new CliError(`cannot start the server: ${describeStartError(error, config)}`);
  }
  const where = config.storage === "memory" ? "in memory, lost on exit" : resolve(config.dataDir);
  out.message(`herald listening on ${running.url} (data: ${where})`);
  await stopRequested;
  await running.close();
  out.message("herald stopped");
}
function describeStartError(error: unknown, config: ServerConfig): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EADDRINUSE") return `${config.host}:${config.port} is already in use (choose another --port)`;
  if (code === "EACCES") return `no permission to listen on ${config.host}:${config.port}`;
  return error instanceof Error ? error.message : String(error);
}

/** Resolves on the first SIGINT or SIGTERM; a second one ends the process at once. */
function untilSignal(out: Output): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      out.message(`herald: ${signal} received, shutting down (send it again to force)`);
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
