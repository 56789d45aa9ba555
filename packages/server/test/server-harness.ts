// Test helpers: start a server for one test, and small fetch wrappers that return status + parsed body.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type HeraldServer, type StartServerOptions, startServer } from "@herald/server";

export interface Answer<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/** Starts a silent server on a free port (memory log unless a dataDir/storage is given). */
export async function start(options: StartServerOptions = {}): Promise<HeraldServer> {
  const storage = options.storage ?? (options.dataDir ? "sqlite" : "memory");
  return startServer({ port: 0, logLevel: "silent", ...options, storage });
}

export async function withServer<T>(
  options: StartServerOptions,
  fn: (server: HeraldServer) => Promise<T>,
): Promise<T> {
  const server = await start(options);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

export function tempDir(prefix = "herald-server-"): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

async function answer<T>(response: Response): Promise<Answer<T>> {
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  const body = (type.includes("json") && text.length > 0 ? JSON.parse(text) : text) as T;
  return { status: response.status, headers: response.headers, body };
}

export async function post<T = Record<string, unknown>>(
  url: string,
  body: string | Uint8Array,
  headers: Record<string, string>,
): Promise<Answer<T>> {
  return answer<T>(await fetch(url, { method: "POST", body, headers }));
}

export async function get<T = Record<string, unknown>>(
  url: string,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  return answer<T>(await fetch(url, { headers }));
}

/** A structured-mode body for one event. */
export function structured(event: Record<string, unknown>): [string, Record<string, string>] {
  return [
    JSON.stringify({ specversion: "1.0", ...event }),
    { "content-type": "application/cloudevents+json" },
  ];
}

/** A batch-mode body. */
export function batch(events: ReadonlyArray<Record<string, unknown>>): [string, Record<string, string>] {
  return [
    JSON.stringify(events.map((e) => ({ specversion: "1.0", ...e }))),
    { "content-type": "application/cloudevents-batch+json" },
  ];
}

export interface ResultEntry {
  id: string;
  source: string;
  position: number;
  stream: string;
  version: number;
  duplicate: boolean;
}
export interface PageEntry {
  position: number;
  stream: string;
  version: number;
  event: Record<string, unknown>;
}
export interface Page {
  events: PageEntry[];
  next: number;
}
export interface Problem {
  type: string;
  /** The stable code from the @herald/protocol catalog; `type` is built from it. */
  code: string;
  title: string;
  status: number;
  detail: string;
  errors?: Array<{ field: string; reason: string }>;
  [extension: string]: unknown;
}
