// `herald serve`: start the broker with flags > HERALD_* env > config file > defaults.
import { CliError, ExitCode } from "../errors.js";
import type { Output } from "../output.js";

export interface ServeFlags {
  readonly host?: string;
  readonly port?: number;
  readonly data?: string;
  readonly storage?: string;
  readonly durability?: string;
  readonly config?: string;
  readonly logLevel?: string;
}

// The part of @herald/server's API that serve uses (see the server package README).
interface ServerConfigLike {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly storage: string;
}
interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}
interface ServerModule {
  resolveConfig(input: {
    flags?: Record<string, unknown>;
    env?: NodeJS.ProcessEnv;
    file?: string;
  }): ServerConfigLike;
  startServer(config: ServerConfigLike): Promise<RunningServer>;
}

/** Maps serve's flags onto the names of ServerConfig; unset flags stay unset so env and file apply. */
export function configFlags(flags: ServeFlags): Record<string, unknown> {
  const mapped: Record<string, unknown> = {};
  if (flags.host !== undefined) mapped.host = flags.host;
  if (flags.port !== undefined) mapped.port = flags.port;
  if (flags.data !== undefined) mapped.dataDir = flags.data;
  if (flags.storage !== undefined) mapped.storage = flags.storage;
  if (flags.durability !== undefined) mapped.durability = flags.durability;
  if (flags.logLevel !== undefined) mapped.logLevel = flags.logLevel;
  return mapped;
}

export async function serve(flags: ServeFlags, out: Output): Promise<void> {
  const server = (await import("@herald/server")) as unknown as ServerModule;
  let config: ServerConfigLike;
  try {
    config = server.resolveConfig({
      flags: configFlags(flags),
      env: process.env,
      ...(flags.config !== undefined ? { file: flags.config } : {}),
    });
  } catch (error) {
    if (error instanceof Error && error.name === "ConfigError") {
      // The message names every bad setting and where it came from (flag, env var or file key).
      throw new CliError(error.message, ExitCode.usage);
    }
    throw error;
  }
  // Listen for signals before announcing the URL: whoever reads that line may signal at once.
  const stopRequested = untilSignal(out);
  let running: RunningServer;
  try {
    running = await server.startServer(config);
  } catch (error) {
    throw new CliError(`cannot start the server: ${describeStartError(error, config)}`);
  }
  const where = config.storage === "memory" ? "in memory, lost on exit" : config.dataDir;
  out.message(`herald listening on ${running.url} (data: ${where})`);
  await stopRequested;
  await running.close();
  out.message("herald stopped");
}

function describeStartError(error: unknown, config: ServerConfigLike): string {
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
