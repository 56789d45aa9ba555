// Test harness: a SubscriptionManager + its routes on a node:http server (port 0), over a real log.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudEvent } from "@herald/cloudevents";
import { createMemoryLog, type EventLog, openSqliteLog } from "@herald/log";
import pino from "pino";
import { Registry } from "prom-client";
import { registerSubscriptionRoutes } from "../../src/http/subscription-routes.js";
import { Router } from "../../src/http/router.js";
import { SubscriptionManager, type SubscriptionManagerOptions } from "../../src/subscriptions/manager.js";

export interface Harness {
  readonly url: string;
  readonly log: EventLog;
  readonly manager: SubscriptionManager;
  readonly registry: Registry;
  /** Stops manager + HTTP server (the log stays open unless `closeLog`). */
  close(options?: { closeLog?: boolean; drainMs?: number }): Promise<void>;
}

export interface HarnessOptions {
  log?: EventLog;
  sinkPolicy?: SubscriptionManagerOptions["sinkPolicy"];
  resetCountScan?: number;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const log = options.log ?? createMemoryLog();
  const registry = new Registry();
  const logger = pino({ level: process.env.HERALD_TEST_LOG ?? "silent" });
  const manager = new SubscriptionManager({
    log,
    registry,
    logger,
    checkpointIntervalMs: 20,
    ...(options.sinkPolicy ? { sinkPolicy: options.sinkPolicy } : {}),
    ...(options.resetCountScan !== undefined ? { resetCountScan: options.resetCountScan } : {}),
  });
  await manager.start();
  const router = new Router({ onUnexpected: (error) => logger.error({ err: error }, "handler failed") });
  registerSubscriptionRoutes(router, manager, { maxJsonDepth: 64 });
  const server: Server = createServer((req, res) => void router.handle(req, res));
  server.on("upgrade", (req, socket, head) => void router.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    manager,
    registry,
    async close({ closeLog = false, drainMs = 100 } = {}) {
      await manager.stop({ drainMs });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (closeLog) await log.close();
    },
  };
}

/** A SQLite log in a fresh temp dir (for restart tests); `dispose` removes it. */
export function tempSqlitePath(): { path: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), "herald-delivery-"));
  return { path: join(dir, "log.db"), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function openSqlite(path: string): Promise<EventLog> {
  return openSqliteLog({ path, durability: "normal", retentionIntervalMs: 0 });
}

let counter = 0;
/** A valid event; `init` overrides attributes. */
export function makeEvent(init: Record<string, unknown> = {}): CloudEvent {
  counter++;
  return new CloudEvent({
    specversion: "1.0",
    id: `evt-${process.pid}-${counter}`,
    source: "/test",
    type: "com.example.test",
    datacontenttype: "application/json",
    data: { n: counter },
    ...init,
  } as ConstructorParameters<typeof CloudEvent>[0]);
}

/** JSON request helper: answers status, headers and parsed body. */
export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(base + path, {
    method,
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } }
      : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** Polls `check` until it returns a value other than undefined (or fails after timeoutMs). */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
