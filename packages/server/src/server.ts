// startServer: opens the log, wires the HTTP API (auth → router → handlers), metrics and logs, and
// closes gracefully: stop accepting, finish in-flight requests, drain deliveries, close the log.
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Duplex } from "node:stream";
import { createMemoryLog, type EventLog, openSqliteLog } from "@herald/log";
import { openPostgresLog } from "@herald/log-postgres";
import { HERALD_VERSION_HEADER } from "@herald/protocol";
import { assetsDir as consoleAssetsDir } from "@herald/console";
import { Registry } from "prom-client";
import type { BridgeFactory, Bridges } from "./bridges/hook.js";
import { ConfigError, resolveConfig, type ServerConfig, type ServerConfigInput } from "./config.js";
import { Authorizer, type Principal } from "./http/auth.js";
import { registerConsoleRoutes } from "./http/console.js";
import { CorsPolicy } from "./http/cors.js";
import { registerHealthRoutes } from "./http/health.js";
import { appendIngested, countingRejections, registerIngestRoutes } from "./http/ingest.js";
import { registerLineageRoutes } from "./http/lineage.js";
import { HttpProblem, problemUpgradeResponse, sendProblem } from "./http/problem.js";
import { registerReadRoutes } from "./http/reads.js";
import { type RouteInfo, Router } from "./http/router.js";
import { registerStatsRoutes } from "./http/stats.js";
import { registerStreamRoutes } from "./http/streams.js";
import { registerSubscriptionRoutes } from "./http/subscription-routes.js";
import { createLogger, type Logger } from "./observability/logger.js";
import { createServerMetrics } from "./observability/metrics.js";
import { redactDatabaseUrl, redactUrl } from "./observability/redact.js";
import { HealthSeries } from "./observability/series.js";
import { type RetentionPassReport, RetentionRunner, retentionRules } from "./retention.js";
import { ClusterCoordinator } from "./cluster/coordinator.js";
import { registerScheduledRoutes } from "./scheduled/routes.js";
import { ScheduleReleaser } from "./scheduled/releaser.js";
import { SchemaRegistry } from "./schemas/registry.js";
import { registerSchemaRoutes } from "./schemas/routes.js";
import { SubscriptionManager } from "./subscriptions/manager.js";
import { SERVER_VERSION } from "./version.js";

export interface StartServerOptions extends ServerConfigInput {
  /** Use this log instead of opening one; the caller owns it (close() leaves it open). */
  log?: EventLog;
  /** Shorthand for `storage: "memory"`. */
  memory?: boolean;
  /** Use this logger instead of one built from `logLevel` and `logFormat`. */
  logger?: Logger;
  /**
   * Log "herald listening", "shutting down" and "stopped" (default true). The CLI turns it off when it
   * prints its own human lines, so each lifecycle message appears once.
   */
  lifecycleLogs?: boolean;
  /**
   * The engine bridges (@herald/bridges' `engineBridges()`; `herald serve` passes it): subscription
   * sinks that are engine URLs, and the `inbound` sources. Without it both are refused.
   */
  bridges?: BridgeFactory;
}

export interface HeraldServer {
  /** `http://host:port`, with the real port when started on port 0. */
  readonly url: string;
  readonly port: number;
  readonly log: EventLog;
  readonly config: ServerConfig;
  /** The Prometheus registry behind /metrics. */
  readonly registry: Registry;
  /** The route table: method, path and the access each route declares (docs/http-api.md lists it). */
  readonly routes: readonly RouteInfo[];
  /** The server's version, as `GET /`, `/healthz` and the `Herald-Version` header report it. */
  readonly version: string;
  /** One retention pass now (it also runs every `retention.interval`): the rules, then queue mode. */
  runRetention(): Promise<RetentionPassReport>;
  /** Graceful: stop accepting, finish in-flight requests and deliveries (≤ shutdownDrainMs), close the log. */
  close(): Promise<void>;
}

/** The SQLite file inside the data directory. */
export const DATABASE_FILE = "herald.db";

/**
 * Starts Herald. Options are flags-level settings (see resolveConfig); the environment is not read
 * here (the CLI resolves flags, env and file first and passes the result).
 */
export async function startServer(options: StartServerOptions = {}): Promise<HeraldServer> {
  const {
    log: givenLog,
    memory,
    logger: givenLogger,
    lifecycleLogs = true,
    bridges: bridgeFactory,
    ...flags
  } = options;
  if (memory) flags.storage = "memory";
  const resolved = resolveConfig({ flags });
  const config: ServerConfig = { ...resolved, nodeId: resolved.nodeId || defaultNodeId() };
  if (config.inbound.length > 0 && bridgeFactory === undefined) {
    throw new ConfigError([
      { setting: "inbound", reason: "inbound sources need the engine bridges (startServer({ bridges }))" },
    ]);
  }
  const logger = givenLogger ?? createLogger(config.logLevel, undefined, config.logFormat);
  const lifecycle = (message: string, fields: Record<string, unknown> = {}) => {
    if (lifecycleLogs) logger.info(fields, message);
  };
  const log = givenLog ?? (await openLog(config));
  const ownsLog = givenLog === undefined;

  const registry = new Registry();
  // Instances of one cluster scrape alike: every series says which node it comes from.
  if (config.storage === "postgres") registry.setDefaultLabels({ node: config.nodeId });
  const startedAt = Date.now();
  const series = new HealthSeries();
  const metrics = createServerMetrics(log, registry, series);
  const authorizer = new Authorizer(config.apiKeys);
  const onError = (error: unknown) => logger.error({ err: error }, "request failed");
  const router = new Router({
    ...(authorizer.enabled
      ? { authorize: (req, url, access, opts) => authorizer.authorize(req, url, access, opts) }
      : {}),
    onUnexpected: onError,
    ...(config.cors.allowOrigins.length > 0 ? { cors: new CorsPolicy(config.cors.allowOrigins) } : {}),
  });
  let closing = false;

  // The console first: its paths are its own, and `/` lists it only when its assets were built.
  const hostedConsole = config.console.enabled
    ? registerConsoleRoutes(router, {
        assetsDir: consoleAssetsDir,
        auth: authorizer.enabled,
        identify: (req) => authorizer.identify(req),
      })
    : undefined;
  if (config.console.enabled && hostedConsole === undefined)
    logger.warn({ assetsDir: consoleAssetsDir }, "console assets not built: /console is off (npm run build)");
  registerHealthRoutes(router, {
    ...(hostedConsole !== undefined ? { consolePath: hostedConsole.path } : {}),
    registry,
    version: SERVER_VERSION,
    // Cluster details only where there is a cluster: a single SQLite/memory server answers as before.
    details: () => {
      const log = manager.logStatus();
      const stale = manager.staleCheckpoints();
      const identity = {
        ...(log !== undefined ? { log } : {}),
        ...(stale.length > 0 ? { staleCheckpoints: stale } : {}),
      };
      return cluster === undefined
        ? identity
        : {
            storage: config.storage,
            nodeId: config.nodeId,
            ...storageDetails(config),
            cluster: cluster.status(),
            oldTransactions: cluster.oldTransactions(),
            ...identity,
          };
    },
    notReadyReasons: () => {
      const reasons: string[] = [];
      if (closing) reasons.push("shutting down");
      if (!closing && !manager.isReady()) reasons.push("subscriptions loading");
      return reasons;
    },
  });
  const releaser = new ScheduleReleaser({ log, logger });
  const schemas = new SchemaRegistry({
    log,
    compatibility: config.schemas.compatibility,
    enforce: config.schemas.enforce,
    // One server sees every registration; instances of a cluster re-read a type's versions each second.
    refreshMs: config.storage === "postgres" ? 1000 : 0,
  });
  const deps = { log, limits: config.limits, metrics, releaser, schemas };
  const ingestRoutes = registerIngestRoutes(router, deps, { onUnexpected: onError });
  registerReadRoutes(router, deps);
  registerLineageRoutes(router, deps);
  registerStatsRoutes(router, {
    log,
    series,
    version: SERVER_VERSION,
    storage: config.storage,
    nodeId: config.nodeId,
    startedAt,
  });
  registerStreamRoutes(router, { ...deps, hardDelete: config.retention.hardDelete });
  registerScheduledRoutes(router, deps);
  const bridges: Bridges | undefined = bridgeFactory?.({
    logger,
    registry,
    inbound: config.inbound,
    ingest: (events, rules) =>
      countingRejections(deps, () => appendIngested(events, inboundPrincipal(rules.typePrefixes), deps, {})),
  });
  const cluster =
    config.storage === "postgres"
      ? new ClusterCoordinator({
          connection: { connectionString: config.database.url },
          schema: config.database.schema,
          nodeId: config.nodeId,
          partitions: config.cluster.partitions,
          leaseMs: config.cluster.leaseMs,
          logger,
          registry,
          onResourcesChanged: () => void manager.reload(),
          oldTransactionMs: config.database.oldTransactionAfter,
        })
      : undefined;
  const manager = new SubscriptionManager({
    log,
    registry,
    logger,
    sinkPolicy: config.sinks,
    series,
    deliveryLedger: config.subscriptions.deliveryLedger,
    stalledAfterMs: config.subscriptions.stalledAfter,
    staleCheckpoints: config.staleCheckpoints,
    ...(cluster !== undefined ? { cluster } : {}),
    ...(bridges !== undefined ? { bridges } : {}),
  });
  registerSubscriptionRoutes(router, manager, config.limits);
  registerSchemaRoutes(router, schemas, config.limits);
  const retention = new RetentionRunner({
    log,
    rules: retentionRules(config.retention),
    intervalMs: config.retention.interval,
    subscriptions: () => manager.retentionView(),
    logger,
  });

  const logRequests = logger.isLevelEnabled("debug");
  const requestTimeout = config.limits.requestTimeoutMs;
  const server = createServer(
    {
      keepAliveTimeout: 10_000,
      requestTimeout,
      headersTimeout: Math.min(60_000, requestTimeout),
      // How often node looks for requests past their timeout (its default is 30 s).
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(requestTimeout / 4))),
    },
    (req, res) => {
      handleRequest(req, res).catch(onError);
    },
  );
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    answerClientError(error, socket);
  });

  // Responses being worked on: on close they are told to end their connection after answering.
  const inFlight = new Set<ServerResponse>();

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    inFlight.add(res);
    res.setHeader(HERALD_VERSION_HEADER, SERVER_VERSION);
    // 'close' follows the end of the exchange, also for streams (SSE) that outlive their handler.
    res.once("close", () => {
      inFlight.delete(res);
      // While closing, the connection of an exchange that just ended is idle: let it go.
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
    let route: RouteInfo | undefined;
    try {
      route = await dispatch(req, res);
    } finally {
      // Duration until the handler returned: the answer for plain requests, the start for streams.
      const seconds = (performance.now() - started) / 1000;
      // The route's pattern keeps the label's cardinality low (ids and stream names stay out).
      metrics.observeRequest(req.method ?? "GET", route?.path ?? "other", res.statusCode, seconds);
      if (logRequests) {
        logger.debug(
          { method: req.method, url: redactUrl(req.url ?? "/"), status: res.statusCode, ms: seconds * 1000 },
          "request",
        );
      }
    }
  }

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<RouteInfo | undefined> {
    if (closing) {
      res.setHeader("connection", "close");
      req.resume();
      sendProblem(res, new HttpProblem("shutting-down", "the server is shutting down"));
      return undefined;
    }
    return await router.handle(req, res);
  }

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (closing) {
      socket.end(problemUpgradeResponse(new HttpProblem("shutting-down", "the server is shutting down")));
      return;
    }
    router.handleUpgrade(req, socket, head).catch(onError);
  });

  try {
    // Persisted subscriptions resume before the first request can arrive.
    await manager.start();
    await cluster?.start();
    // Inbound sources ingest once the subscriptions run (what they append is delivered at once).
    await bridges?.start();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await bridges?.stopInbound(0);
    await manager.stop({ drainMs: 0 });
    await cluster?.stop();
    await bridges?.close();
    if (ownsLog) await log.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  lifecycle(`herald listening on ${url} (data: ${storageWhere(config)})`, {
    url,
    version: SERVER_VERSION,
    storage: config.storage,
    nodeId: config.nodeId,
    dataDir: config.storage === "sqlite" ? config.dataDir : undefined,
    ...(config.storage === "postgres"
      ? { database: redactDatabaseUrl(config.database.url), schema: config.database.schema }
      : {}),
  });
  retention.start();
  releaser.start();

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      lifecycle("herald shutting down");
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const res of inFlight) if (!res.headersSent) res.setHeader("connection", "close");
      server.closeIdleConnections();
      // Stops dispatching (ends SSE and WebSocket consumers, answers long polls), drains in-flight
      // pushes, persists checkpoints.
      // WebSocket ingest answers the frames it is appending, then closes its connections.
      // Inbound bridges stop taking messages, finish their appends and hand the rest back to the engine.
      await Promise.all([
        manager.stop({ drainMs: config.shutdownDrainMs }),
        ingestRoutes.close(),
        bridges?.stopInbound(config.shutdownDrainMs),
      ]);
      // The engine connections go once nothing delivers or ingests through them.
      await bridges?.close();
      // After the last checkpoints are stored: the leases go back, the others take over at once.
      await cluster?.stop();
      // Streams still open (SSE) have nothing more to send: end them so their connections can close.
      for (const res of inFlight) if (res.headersSent && !res.writableEnded) res.end();
      const drained = await Promise.race([
        serverClosed.then(() => true),
        delay(config.shutdownDrainMs).then(() => false),
      ]);
      if (!drained) {
        logger.warn("shutdown drain timed out: closing remaining connections");
        server.closeAllConnections();
        await serverClosed;
      }
      await Promise.all([retention.stop(), releaser.stop()]);
      if (ownsLog) await log.close();
      lifecycle("herald stopped");
    })();
    return closed;
  };

  return {
    url,
    port,
    log,
    config,
    registry,
    routes: router.routes(),
    version: SERVER_VERSION,
    runRetention: () => retention.run(),
    close,
  };
}

/**
 * Errors node's HTTP parser hits before any route sees the request (bad framing, oversized headers, a
 * request that does not arrive in time) are answered as problems too, when the socket can still take an
 * answer and none was started; then the connection goes.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const problem = clientErrorProblem(error);
  // node's own default handler makes the same check on its private field.
  const started = (socket as { _httpMessage?: ServerResponse })._httpMessage?.headersSent === true;
  if (problem === undefined || !socket.writable || started) {
    socket.destroy();
    return;
  }
  socket.end(problemUpgradeResponse(problem), () => socket.destroy());
}

function clientErrorProblem(error: NodeJS.ErrnoException): HttpProblem | undefined {
  const code = error.code ?? "";
  if (code === "HPE_HEADER_OVERFLOW")
    return new HttpProblem("headers-too-large", "the request headers exceed the server's limit", {
      cause: error,
    });
  if (code === "ERR_HTTP_REQUEST_TIMEOUT")
    return new HttpProblem("request-timeout", "the request did not arrive in time", { cause: error });
  if (code.startsWith("HPE_"))
    return new HttpProblem("bad-request", `the request is not valid HTTP/1.1 (${code})`, { cause: error });
  return undefined;
}

/** Where the events are, for the startup line (the database password redacted). */
export function storageWhere(config: ServerConfig): string {
  if (config.storage === "memory") return "in memory, lost on exit";
  if (config.storage === "postgres")
    return `${redactDatabaseUrl(config.database.url)}, schema ${config.database.schema}`;
  return config.dataDir;
}

function storageDetails(config: ServerConfig): Record<string, string> {
  if (config.storage !== "postgres") return {};
  return { database: redactDatabaseUrl(config.database.url), schema: config.database.schema };
}

/** A node id unique enough among instances: host name and process id. */
function defaultNodeId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, "-")
      .slice(0, 48) || "herald";
  return `${host}-${process.pid}`;
}

async function openLog(config: ServerConfig): Promise<EventLog> {
  // Retention runs from the server's own timer (RetentionRunner), not the log's.
  if (config.storage === "memory") return createMemoryLog({ retentionIntervalMs: 0 });
  if (config.storage === "postgres") {
    return await openPostgresLog({
      connection: {
        connectionString: config.database.url,
        max: config.database.poolSize,
        application_name: `herald-${config.nodeId}`.slice(0, 63),
      },
      schema: config.database.schema,
      retentionIntervalMs: 0,
    });
  }
  mkdirSync(config.dataDir, { recursive: true });
  return await openSqliteLog({
    path: join(config.dataDir, DATABASE_FILE),
    durability: config.durability,
    commitSync: config.commitSync,
    checkpoint: config.checkpoint,
    dedupeWindow: config.dedupeWindow,
    retentionIntervalMs: 0,
  });
}

/** Who an inbound bridge publishes as: any type, or the types its `typePrefixes` allow. */
function inboundPrincipal(typePrefixes: readonly string[] | undefined): Principal {
  return typePrefixes === undefined
    ? { scopes: new Set(["publish"]) }
    : { scopes: new Set(["publish"]), typePrefixes: [...typePrefixes] };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
