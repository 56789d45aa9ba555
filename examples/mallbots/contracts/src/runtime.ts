// What every MallBots service process does the same way: its own SQLite database, the outbox relay
// to Herald, the app on its port, a READY line for whoever started it, and a clean stop on SIGTERM.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { CloudEvent } from "@herald/cloudevents";
import { heraldPublisher, OutboxRelay, sqliteOutbox } from "@herald/eventsourcing";
import { correlationOf, HeraldClient } from "@herald/sdk";
import { type ApiKeyEntry, type App, createApp, type EventSourceDefinition } from "@herald/service";
import Database from "better-sqlite3";
import { DEFAULT_PORTS, type MallbotsConfig, type ServiceName } from "./config.js";
import { SCOPES } from "./names.js";
import { activeTrace, startTracing } from "./tracing.js";

export type SqliteDatabase = Database.Database;

/**
 * Attributes for an event written because of `cause`: the same conversation (`correlationid`), this
 * cause (`causationid`) and its trace (`traceparent`), so the console's lineage and the trace follow
 * an order across services even when the event leaves through an outbox. The trace is the active
 * span's when tracing is on (the handler's `herald deliver` span, itself the child of the cause's
 * trace), else the cause's own `traceparent`/`tracestate`.
 */
export function follow(cause: CloudEvent): Record<string, string> {
  const attributes: Record<string, string> = { correlationid: correlationOf(cause), causationid: cause.id };
  const active = activeTrace();
  if (active["traceparent"] !== undefined) return { ...attributes, ...active };
  const traceparent = cause["traceparent"];
  if (typeof traceparent === "string") attributes["traceparent"] = traceparent;
  const tracestate = cause["tracestate"];
  if (typeof tracestate === "string" && tracestate !== "") attributes["tracestate"] = tracestate;
  return attributes;
}

/** `<dataDir>/<service>/<file>`: each service owns its directory; nothing else opens it. */
export function openServiceDatabase(
  config: MallbotsConfig,
  service: string,
  file = `${service}.db`,
): SqliteDatabase {
  const dir = join(config.dataDir, service);
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, file));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  return db;
}

/** The service's outbox table in its database and a relay publishing it to Herald. */
export function startOutbox(db: SqliteDatabase, client: HeraldClient) {
  const outbox = sqliteOutbox(db);
  const relay = new OutboxRelay({
    store: outbox.store,
    publish: heraldPublisher(client),
    // Short: each step of an order waits for the previous service's relay.
    pollIntervalMs: 25,
    // One relay per service process: a lease only has to outlive one publish to the local broker
    // (the client's retries included), and it is what a restarted process waits out after a SIGKILL.
    leaseMs: 10_000,
    retention: { sentMaxAgeMs: 24 * 3_600_000 },
    onError: (error) => console.error(`outbox relay: ${String(error)}`),
  });
  relay.start();
  return { outbox, relay };
}

/** API keys every service accepts: the internal key (the gateway and the other services). */
export function internalKeys(
  config: MallbotsConfig,
  extra: Record<string, ApiKeyEntry> = {},
): Record<string, ApiKeyEntry> {
  return { [config.internalKey]: { subject: "mallbots-internal", scopes: [SCOPES.internal] }, ...extra };
}

export function heraldClient(config: MallbotsConfig): HeraldClient {
  return new HeraldClient({ url: config.heraldUrl });
}

/** A started service: where it listens and how to stop it (in a test, or from runProcess). */
export interface RunningService {
  readonly url: string;
  readonly app: App;
  /** Stops taking events, lets running handlers finish, then closes what the service opened. */
  stop(): Promise<void>;
}

export interface StartAppOptions {
  readonly name: ServiceName;
  readonly config: MallbotsConfig;
  readonly definitions: readonly EventSourceDefinition[];
  readonly client: HeraldClient;
  readonly apiKeys?: Record<string, ApiKeyEntry>;
  /** Called after the app stopped taking events (close relays, databases); the client is closed after it. */
  readonly onStop?: () => void | Promise<void>;
}

/** The service's app on its port (config.port, else its default), with the service's API keys. */
export async function startApp(options: StartAppOptions): Promise<RunningService> {
  const { name, config } = options;
  const app = await createApp({
    definitions: options.definitions,
    client: options.client,
    auth: { apiKeys: options.apiKeys ?? internalKeys(config) },
    host: config.host,
    port: config.port ?? DEFAULT_PORTS[name],
    info: { title: `MallBots ${name}`, version: "1.0.0" },
  }).start();
  let stopped: Promise<void> | undefined;
  return {
    url: app.url,
    app,
    stop: () => {
      stopped ??= (async () => {
        await app.stop();
        await options.onStop?.();
        await options.client.close();
      })();
      return stopped;
    },
  };
}

/**
 * A service's process (its main.ts): starts it, prints `READY <name> <url>` on stdout (the launcher
 * and the tests wait for that line) and stops cleanly on SIGTERM/SIGINT. Logs go to stderr.
 */
export async function runProcess(
  name: string,
  start: () => Promise<{ readonly url: string; stop(): Promise<void> }>,
) {
  // Before the service starts, so its first request and delivery are traced (MALLBOTS_TRACE_FILE).
  const tracing = startTracing(name);
  const service = await start();
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await service.stop();
    await tracing?.shutdown();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
  process.stdout.write(`READY ${name} ${service.url}\n`);
}
