// startServer: opens the log, wires the HTTP API (auth → router → handlers), metrics and logs, and
// closes gracefully: stop accepting, finish in-flight requests, drain deliveries, close the log.
import { mkdirSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Duplex } from "node:stream";
import { createMemoryLog, type EventLog, openSqliteLog } from "@herald/log";
import { Registry } from "prom-client";
import { resolveConfig, type ServerConfig, type ServerConfigInput } from "./config.js";
import { Authorizer } from "./http/auth.js";
import { registerHealthRoutes } from "./http/health.js";
import { registerIngestRoutes } from "./http/ingest.js";
import { isUnexpected, problemOf } from "./http/errors.js";
import { HttpProblem, problemUpgradeResponse, sendProblem } from "./http/problem.js";
import { registerReadRoutes } from "./http/reads.js";
import { Router } from "./http/router.js";
import { registerStreamRoutes } from "./http/streams.js";
import { handleSubscriptionUpgrade, registerSubscriptionRoutes } from "./http/subscription-routes.js";
import { createLogger, type Logger } from "./observability/logger.js";
import { createServerMetrics, routeLabel } from "./observability/metrics.js";
import { SubscriptionManager } from "./subscriptions/manager.js";

export interface StartServerOptions extends ServerConfigInput {
  /** Use this log instead of opening one; the caller owns it (close() leaves it open). */
  log?: EventLog;
  /** Shorthand for `storage: "memory"`. */
  memory?: boolean;
  /** Use this logger instead of pino to stdout at `logLevel`. */
  logger?: Logger;
}

export interface HeraldServer {
  /** `http://host:port`, with the real port when started on port 0. */
  readonly url: string;
  readonly port: number;
  readonly log: EventLog;
  readonly config: ServerConfig;
  /** The Prometheus registry behind /metrics. */
  readonly registry: Registry;
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
  const { log: givenLog, memory, logger: givenLogger, ...flags } = options;
  if (memory) flags.storage = "memory";
  const config = resolveConfig({ flags });
  const logger = givenLogger ?? createLogger(config.logLevel);
  const log = givenLog ?? (await openLog(config));
  const ownsLog = givenLog === undefined;

  const registry = new Registry();
  const metrics = createServerMetrics(log, registry);
  const authorizer = new Authorizer(config.apiKeys);
  const router = new Router();
  let closing = false;

  registerHealthRoutes(router, {
    registry,
    notReadyReasons: () => {
      const reasons: string[] = [];
      if (closing) reasons.push("shutting down");
      if (!closing && !manager.isReady()) reasons.push("subscriptions loading");
      return reasons;
    },
  });
  const deps = { log, limits: config.limits, metrics };
  registerIngestRoutes(router, deps);
  registerReadRoutes(router, deps);
  registerStreamRoutes(router, deps);
  const manager = new SubscriptionManager({ log, registry, logger, sinkPolicy: config.sinks });
  registerSubscriptionRoutes(router, manager);

  const onError = (error: unknown) => logger.error({ err: error }, "request failed");
  const logRequests = logger.isLevelEnabled("debug");
  const server = createServer({ keepAliveTimeout: 10_000 }, (req, res) => {
    handleRequest(req, res).catch(onError);
  });

  // Responses being worked on: on close they are told to end their connection after answering.
  const inFlight = new Set<ServerResponse>();

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    inFlight.add(res);
    // 'close' follows the end of the exchange, also for streams (SSE) that outlive their handler.
    res.once("close", () => {
      inFlight.delete(res);
      // While closing, the connection of an exchange that just ended is idle: let it go.
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
    try {
      await dispatch(req, res);
    } finally {
      // Duration until the handler returned: the answer for plain requests, the start for streams.
      const seconds = (performance.now() - started) / 1000;
      metrics.observeRequest(req.method ?? "GET", routeLabel(pathOf(req.url)), res.statusCode, seconds);
      if (logRequests) {
        logger.debug(
          { method: req.method, url: req.url, status: res.statusCode, ms: seconds * 1000 },
          "request",
        );
      }
    }
  }

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (closing) {
      res.setHeader("connection", "close");
      req.resume();
      sendProblem(res, new HttpProblem("shutting-down", "the server is shutting down"));
      return;
    }
    if (authorizer.enabled) {
      try {
        authorizer.authorize(req, new URL(req.url ?? "/", "http://herald.local"));
      } catch (error) {
        req.resume();
        if (isUnexpected(error)) throw error;
        sendProblem(res, problemOf(error));
        return;
      }
    }
    await router.handle(req, res, onError);
  }

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      if (closing) throw new HttpProblem("shutting-down", "the server is shutting down");
      authorizer.authorize(req, new URL(req.url ?? "/", "http://herald.local"), { allowQueryToken: true });
      if (handleSubscriptionUpgrade(manager, req, socket, head)) return;
      throw new HttpProblem("route-not-found", `no WebSocket endpoint at ${pathOf(req.url)}`);
    } catch (error) {
      if (isUnexpected(error)) onError(error);
      socket.end(problemUpgradeResponse(problemOf(error)));
    }
  });

  try {
    // Persisted subscriptions resume before the first request can arrive.
    await manager.start();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await manager.stop({ drainMs: 0 });
    if (ownsLog) await log.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.info(
    { url, storage: config.storage, dataDir: config.storage === "sqlite" ? config.dataDir : undefined },
    "herald listening",
  );

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      logger.info("herald shutting down");
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const res of inFlight) if (!res.headersSent) res.setHeader("connection", "close");
      server.closeIdleConnections();
      // Stops dispatching (ends SSE and WebSocket consumers, answers long polls), drains in-flight
      // pushes, persists checkpoints.
      await manager.stop({ drainMs: config.shutdownDrainMs });
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
      if (ownsLog) await log.close();
      logger.info("herald stopped");
    })();
    return closed;
  };

  return { url, port, log, config, registry, close };
}

async function openLog(config: ServerConfig): Promise<EventLog> {
  if (config.storage === "memory") return createMemoryLog();
  mkdirSync(config.dataDir, { recursive: true });
  return await openSqliteLog({ path: join(config.dataDir, DATABASE_FILE), durability: config.durability });
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return "/";
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
