// HTTP surface of subscriptions: resources (CloudEvents Subscriptions API), pull/ack/nack,
// SSE and WebSocket live consumption, stats, dead letters and redrive.
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type AckResponse,
  CONTENT_TYPE_HEADER,
  type DeadLettersResponse,
  type DeliveriesResponse,
  EVENT_STREAM_MEDIA_TYPE,
  LOCATION_HEADER,
  type NackResponse,
  type RedriveResponse,
  type ResetResponse,
  SSE_EVENT,
  SSE_HEARTBEAT_MS,
  STREAM_QUERY,
  type SubscriptionStats,
  type SubscriptionsStatsResponse,
  WS_CLOSE,
  WS_PING_MS,
  type WsErrorFrame,
  type WsUnknownFrame,
} from "@herald/protocol";
import { type WebSocket, WebSocketServer } from "ws";
import { type Message, messageJson, type StreamConsumer } from "../subscriptions/consumers.js";
import type { SubscriptionManager } from "../subscriptions/manager.js";
import { type JsonBodyLimits, readJsonBody } from "./body.js";
import { problemOf } from "./errors.js";
import { compileFilter } from "./filter.js";
import { HttpProblem, sendJson } from "./problem.js";
import type { Access, RequestContext, RouteDefinition, Router, UpgradeContext } from "./router.js";

const BODY_LIMIT = 1024 * 1024;
const MAX_PULL = 1000;
const MAX_WAIT_MS = 60_000;
const WS_BUFFER_LIMIT = 1024 * 1024;

export function registerSubscriptionRoutes(
  router: Router,
  manager: SubscriptionManager,
  limits: { readonly maxJsonDepth: number },
): void {
  // Subscription bodies are small: their own size limit, the server's nesting limit.
  const bodyLimits: JsonBodyLimits = { maxBodyBytes: BODY_LIMIT, maxJsonDepth: limits.maxJsonDepth };
  // The router maps the subscription layer's typed errors (problemOf).
  const route = (
    method: RouteDefinition["method"],
    path: string,
    access: Access,
    handler: (ctx: RequestContext) => Promise<void> | void,
  ) => router.add({ method, path, access, handler });

  route("GET", "/subscriptions", "admin", ({ res }) => sendJson(res, 200, manager.list()));
  route("POST", "/subscriptions", "admin", async ({ req, res }) => {
    const created = await manager.create(await readJsonBody(req, bodyLimits));
    sendJson(res, 201, created, { [LOCATION_HEADER]: `/subscriptions/${encodeURIComponent(created.id)}` });
  });
  route("GET", "/subscriptions/:id", "admin", ({ res, params }) =>
    sendJson(res, 200, manager.get(params.id!)),
  );
  route("PUT", "/subscriptions/:id", "admin", async ({ req, res, params }) => {
    sendJson(res, 200, await manager.update(params.id!, await readJsonBody(req, bodyLimits)));
  });
  route("DELETE", "/subscriptions/:id", "admin", async ({ res, params }) => {
    sendJson(res, 200, await manager.delete(params.id!));
  });

  route("POST", "/subscriptions/:id/pull", "consume", async ({ req, res, params }) => {
    const body = objectBody(await readJsonBody(req, bodyLimits));
    const max = intField(body, "max", 1, MAX_PULL, 100);
    const waitMs = intField(body, "waitMs", 0, MAX_WAIT_MS, 0);
    // A client that hangs up while waiting takes nothing with it.
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    const messages = await manager.pull(params.id!, max, waitMs, abort.signal);
    if (res.destroyed) {
      manager.nack(
        params.id!,
        messages.map((m) => m.ackId),
        0,
      );
      return;
    }
    sendJson(res, 200, `{"messages":[${messages.map(messageJson).join(",")}]}`);
  });
  route("POST", "/subscriptions/:id/ack", "consume", async ({ req, res, params }) => {
    const ackIds = ackIdsOf(objectBody(await readJsonBody(req, bodyLimits)));
    const result = manager.ack(params.id!, ackIds);
    sendJson(res, 200, { acked: result.done, unknown: result.unknown } satisfies AckResponse);
  });
  route("POST", "/subscriptions/:id/nack", "consume", async ({ req, res, params }) => {
    const body = objectBody(await readJsonBody(req, bodyLimits));
    const ackIds = ackIdsOf(body);
    const delayMs = body.delayMs === undefined ? undefined : intField(body, "delayMs", 0, 86_400_000, 0);
    const result = manager.nack(params.id!, ackIds, delayMs);
    sendJson(res, 200, { nacked: result.done, unknown: result.unknown } satisfies NackResponse);
  });
  route("GET", "/subscriptions/:id/sse", "consume", ({ req, res, url, params }) =>
    serveSse(manager, params.id!, url, req, res),
  );
  route("GET", "/subscriptions/:id/stats", "consume", async ({ res, params }) => {
    const stats: SubscriptionStats = await manager.stats(params.id!);
    sendJson(res, 200, stats);
  });
  route("GET", "/stats/subscriptions", "consume", async ({ res }) => {
    const answer: SubscriptionsStatsResponse = { subscriptions: await manager.allStats() };
    sendJson(res, 200, answer);
  });
  route("GET", "/subscriptions/:id/deliveries", "admin", ({ res, url, params }) => {
    const position = queryInt(url, "position", 1, Number.MAX_SAFE_INTEGER);
    const limit = queryInt(url, "limit", 1, 1000) ?? 100;
    const answer: DeliveriesResponse = manager.deliveries(params.id!, {
      ...(position !== undefined ? { position } : {}),
      limit,
    });
    sendJson(res, 200, answer);
  });
  route("GET", "/subscriptions/:id/dead-letters", "admin", async ({ res, url, params }) => {
    const after = queryInt(url, "after", -1, Number.MAX_SAFE_INTEGER);
    const limit = queryInt(url, "limit", 1, 1000);
    const reason = url.searchParams.get("reason");
    if (reason !== null && reason !== "max-deliveries" && reason !== "rejected") {
      throw new HttpProblem("query-invalid", "reason must be max-deliveries or rejected", {
        errors: [{ field: "reason", reason: "must be max-deliveries or rejected" }],
      });
    }
    const filter = url.searchParams.get("filter");
    const match = filter === null || filter.trim() === "" ? undefined : compileFilter(filter);
    const page: DeadLettersResponse = await manager.deadLetters(params.id!, {
      ...(after !== undefined ? { after } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(reason !== null ? { reason } : {}),
      ...(match !== undefined ? { match } : {}),
    });
    sendJson(res, 200, page);
  });
  route("POST", "/subscriptions/:id/dead-letters/redrive", "admin", async ({ req, res, params }) => {
    const answer: RedriveResponse = await manager.redrive(params.id!, await readJsonBody(req, bodyLimits));
    sendJson(res, 200, answer);
  });
  route("POST", "/subscriptions/:id/reset", "admin", async ({ req, res, params }) => {
    const answer: ResetResponse = await manager.reset(params.id!, await readJsonBody(req, bodyLimits));
    sendJson(res, 200, answer);
  });
  router.upgrade({
    path: "/subscriptions/:id/ws",
    access: "consume",
    handler: (ctx) => upgradeSubscription(manager, ctx),
  });
}

// ---------- SSE ----------

/** Resolves when the stream ended (the handler lasts as long as the connection). */
function serveSse(
  manager: SubscriptionManager,
  id: string,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { autoAck, credit } = streamOptions(manager, id, url);
  const frame = url.searchParams.get(STREAM_QUERY.frame) ?? "event";
  if (frame !== "event" && frame !== "message") {
    throw new HttpProblem("query-invalid", "frame must be event or message", {
      errors: [{ field: STREAM_QUERY.frame, reason: "must be event or message" }],
    });
  }
  // `message` frames carry the delivery count (and position, stream) that a bare event cannot.
  const name = frame === "message" ? SSE_EVENT.message : SSE_EVENT.cloudevent;
  const json = frame === "message" ? messageJson : (message: Message) => message.eventJson;
  req.resume();
  res.writeHead(200, {
    [CONTENT_TYPE_HEADER]: EVENT_STREAM_MEDIA_TYPE,
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  res.write(": connected\n\n");
  let attached: ReturnType<SubscriptionManager["attach"]> | undefined;
  const consumer: StreamConsumer = {
    credit,
    autoAck,
    writable: () => !res.writableNeedDrain && !res.destroyed,
    send: (message: Message) => {
      const data = json(message)
        .split("\n")
        .map((line) => `data: ${line}`)
        .join("\n");
      res.write(`id: ${message.ackId}\nevent: ${name}\n${data}\n\n`);
    },
    close: () => res.end(),
  };
  const heartbeat = setInterval(() => res.write(": ping\n\n"), SSE_HEARTBEAT_MS);
  heartbeat.unref();
  res.on("drain", () => attached?.resume());
  const ended = new Promise<void>((resolve) =>
    res.on("close", () => {
      clearInterval(heartbeat);
      attached?.detach();
      resolve();
    }),
  );
  attached = manager.attach(id, consumer);
  return ended;
}

// ---------- WebSocket ----------

const servers = new WeakMap<SubscriptionManager, WebSocketServer>();

/** Takes over an upgrade for `/subscriptions/{id}/ws` (the router authorized it and maps what it throws). */
function upgradeSubscription(
  manager: SubscriptionManager,
  { req, socket, head, url, params }: UpgradeContext,
): void {
  const id = params.id!;
  const options = streamOptions(manager, id, url);
  let wss = servers.get(manager);
  if (!wss) {
    wss = new WebSocketServer({ noServer: true, maxPayload: BODY_LIMIT });
    servers.set(manager, wss);
  }
  wss.handleUpgrade(req, socket, head, (ws) => serveWebSocket(manager, id, options, ws));
}

function serveWebSocket(
  manager: SubscriptionManager,
  id: string,
  options: { autoAck: boolean; credit: number },
  ws: WebSocket,
): void {
  let attached: ReturnType<SubscriptionManager["attach"]> | undefined;
  let resumeTimer: NodeJS.Timeout | undefined;
  const consumer: StreamConsumer = {
    ...options,
    writable: () => {
      if (ws.readyState !== ws.OPEN) return false;
      if (ws.bufferedAmount < WS_BUFFER_LIMIT) return true;
      // ws has no drain event: look again shortly.
      resumeTimer ??= setTimeout(() => {
        resumeTimer = undefined;
        attached?.resume();
      }, 20);
      return false;
    },
    send: (message) => ws.send(messageJson(message)),
    close: (reason) => ws.close(WS_CLOSE.serviceRestart, reason),
  };
  ws.on("message", (raw, isBinary) => {
    try {
      const text = isBinary ? Buffer.from(raw as Buffer).toString("utf8") : raw.toString();
      const command = objectBody(JSON.parse(text));
      if (command.ack !== undefined) {
        const result = manager.ack(id, idList(command.ack, "ack"));
        if (result.unknown.length > 0) sendFrame(ws, { unknown: result.unknown });
      } else if (command.nack !== undefined) {
        const delayMs =
          command.delayMs === undefined ? undefined : intField(command, "delayMs", 0, 86_400_000, 0);
        const result = manager.nack(id, idList(command.nack, "nack"), delayMs);
        if (result.unknown.length > 0) sendFrame(ws, { unknown: result.unknown });
      } else {
        throw new HttpProblem(
          "body-invalid",
          'send { "ack": [ackIds] } or { "nack": [ackIds], "delayMs"?: N }',
        );
      }
    } catch (error) {
      const problem =
        error instanceof SyntaxError
          ? new HttpProblem("json-invalid", `the command is not valid JSON: ${error.message}`)
          : problemOf(error);
      sendFrame(ws, { error: problem.message, code: problem.code });
    }
  });
  // Keeps idle connections alive through proxies; ws answers pongs itself.
  const heartbeat = setInterval(() => ws.ping(), WS_PING_MS);
  heartbeat.unref();
  ws.on("close", () => {
    clearInterval(heartbeat);
    if (resumeTimer) clearTimeout(resumeTimer);
    attached?.detach();
  });
  ws.on("error", () => ws.terminate());
  try {
    attached = manager.attach(id, consumer);
  } catch (error) {
    ws.close(WS_CLOSE.internalError, error instanceof Error ? error.message.slice(0, 120) : "error");
  }
}

// ---------- helpers ----------

function sendFrame(ws: WebSocket, frame: WsUnknownFrame | WsErrorFrame): void {
  ws.send(JSON.stringify(frame));
}

/** `?ack=auto|manual` (default manual) and `?max=N` unacked messages per connection (default maxInFlight). */
function streamOptions(
  manager: SubscriptionManager,
  id: string,
  url: URL,
): { autoAck: boolean; credit: number } {
  const settings = manager.consumerSettings(id);
  const ack = url.searchParams.get(STREAM_QUERY.ack) ?? "manual";
  if (ack !== "auto" && ack !== "manual") {
    throw new HttpProblem("query-invalid", "ack must be auto or manual", {
      errors: [{ field: "ack", reason: "must be auto or manual" }],
    });
  }
  const credit = queryInt(url, STREAM_QUERY.max, 1, 10_000) ?? settings.maxInFlight;
  return { autoAck: ack === "auto", credit };
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpProblem("body-invalid", "the body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

function intField(
  body: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const value = body[key];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new HttpProblem("body-invalid", `${key} must be an integer from ${min} to ${max}`, {
      errors: [{ field: `/${key}`, reason: `must be an integer from ${min} to ${max}` }],
    });
  }
  return value;
}

function ackIdsOf(body: Record<string, unknown>): string[] {
  return idList(body.ackIds, "ackIds");
}

function idList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw new HttpProblem("body-invalid", `${field} must be an array of ack ids`, {
      errors: [{ field: `/${field}`, reason: "must be an array of strings" }],
    });
  }
  return value as string[];
}

function queryInt(url: URL, key: string, min: number, max: number): number | undefined {
  const raw = url.searchParams.get(key);
  if (raw === null) return undefined;
  const n = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new HttpProblem("query-invalid", `${key} must be an integer from ${min} to ${max}`, {
      errors: [{ field: key, reason: `must be an integer from ${min} to ${max}` }],
    });
  }
  return n;
}
