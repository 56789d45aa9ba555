// `herald app run <dir>`: loads the YAML event definitions under <dir> (docs/event-sources.md) and runs
// them as one app until SIGINT/SIGTERM. `herald app docs <dir>`: prints the app's OpenAPI 3.1 or
// AsyncAPI 3.0 document. Transport sources connect to their engine when its flag names it
// (`--nats`, `--amqp`, `--redis`, `--mqtt`); the transport packages are loaded only then.
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { HeraldClient, Transport } from "@herald/sdk";
import {
  type AppTransports,
  asyncApiDocument,
  createApp,
  type EventSourceDefinition,
  EventFileError,
  loadEventDefinitions,
  openApiDocument,
  type ServiceLogger,
} from "@herald/service";
import { CliError, ExitCode, UsageError } from "../errors.js";
import type { Output } from "../output.js";

export interface AppRunOptions {
  readonly host: string;
  readonly port: number;
  readonly title: string;
  readonly version: string;
  /** Pull consumers' transport for Herald subscription sources. */
  readonly transport?: "auto" | "poll" | "sse" | "ws";
  readonly nats?: string;
  readonly amqp?: string;
  readonly redis?: string;
  readonly mqtt?: string;
}

export interface AppDocsOptions {
  readonly format: "openapi" | "asyncapi";
  readonly title: string;
  readonly version: string;
  readonly url: string;
}

/** An app directory holds its definitions in `events/` (beside `handlers/`, `schemas/`), or is that folder. */
async function load(dir: string): Promise<EventSourceDefinition[]> {
  const events = join(resolve(dir), "events");
  const root = (await stat(events).catch(() => undefined))?.isDirectory() ? events : resolve(dir);
  try {
    const definitions = await loadEventDefinitions(root);
    if (definitions.length === 0) throw new UsageError(`no event definitions (*.yaml, *.yml) under ${dir}`);
    return definitions;
  } catch (error) {
    if (error instanceof EventFileError) throw new CliError(error.message, ExitCode.usage);
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new UsageError(`no such directory: ${dir}`);
    throw error;
  }
}

export async function appDocs(dir: string, options: AppDocsOptions, out: Output): Promise<void> {
  const definitions = await load(dir);
  const info = { title: options.title, version: options.version };
  const document =
    options.format === "openapi"
      ? openApiDocument(definitions, { ...info, secured: false })
      : asyncApiDocument(definitions, { ...info, heraldUrl: options.url });
  out.data(JSON.stringify(document, null, 2));
}

export async function appRun(
  dir: string,
  client: HeraldClient,
  options: AppRunOptions,
  out: Output,
  stopped: Promise<void>,
): Promise<void> {
  const definitions = await load(dir);
  const transports = await connectTransports(definitions, options);
  const logger: ServiceLogger = {
    warn: (fields, message) => out.message(`${message} ${JSON.stringify(fields)}`),
    error: (fields, message) => out.message(`${message} ${JSON.stringify(fields)}`),
  };
  const needsBroker = definitions.some(
    (d) => d.kind === "herald" || (d.kind === "cron" && d.deliver.mode === "broker"),
  );
  let app: ReturnType<typeof createApp>;
  try {
    app = createApp({
      definitions,
      ...(needsBroker ? { client } : {}),
      transports,
      host: options.host,
      port: options.port,
      logger,
      info: { title: options.title, version: options.version },
      ...(options.transport !== undefined ? { transport: options.transport } : {}),
    });
    await app.start();
  } catch (error) {
    await Promise.all(Object.values(transports).map((t) => t?.close()));
    throw new CliError(`cannot start the app: ${(error as Error).message}`, ExitCode.failure, {
      cause: error,
    });
  }
  out.message(
    `herald app listening on ${app.url} (${definitions.length} events: ${definitions.map((d) => d.key).join(", ")})`,
  );
  await stopped;
  await app.stop();
  await Promise.all(Object.values(transports).map((t) => t?.close()));
  out.message("herald app stopped");
}

/** Opens the transport of each engine the definitions use; a missing flag is a usage error naming the key. */
async function connectTransports(
  definitions: readonly EventSourceDefinition[],
  options: AppRunOptions,
): Promise<AppTransports> {
  const engines = new Map<string, string>();
  for (const d of definitions) if (d.kind === "transport") engines.set(d.trigger.engine, d.key);
  const transports: Partial<Record<string, Transport>> = {};
  for (const [engine, key] of engines) {
    switch (engine) {
      case "nats": {
        if (options.nats === undefined) throw new UsageError(`${key} needs --nats <servers>`);
        const { connectNatsTransport } = await import("@herald/transport-nats");
        transports.nats = await connectNatsTransport({ servers: options.nats });
        break;
      }
      case "rabbitmq": {
        if (options.amqp === undefined) throw new UsageError(`${key} needs --amqp <url>`);
        const { connectAmqpTransport } = await import("@herald/transport-amqp");
        transports.rabbitmq = await connectAmqpTransport({ url: options.amqp });
        break;
      }
      case "redis": {
        if (options.redis === undefined) throw new UsageError(`${key} needs --redis <url>`);
        const { connectRedisTransport } = await import("@herald/transport-redis");
        transports.redis = connectRedisTransport({ url: options.redis });
        break;
      }
      case "mqtt": {
        if (options.mqtt === undefined) throw new UsageError(`${key} needs --mqtt <url>`);
        const { connectMqttTransport } = await import("@herald/transport-mqtt");
        transports.mqtt = await connectMqttTransport({ url: options.mqtt });
        break;
      }
      default:
        throw new UsageError(
          `${key}: the CLI cannot connect ${engine} yet; run the app from TypeScript (AppOptions.transports)`,
        );
    }
  }
  return transports as AppTransports;
}
