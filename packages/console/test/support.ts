// A real `herald serve` (the CLI, as a user starts it) and a headless Debian Chromium for the browser tests.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

export const REPO = process.env.HERALD_REPO_ROOT ?? fileURLToPath(new URL("../../../../", import.meta.url));
export const CHROMIUM = process.env.HERALD_CHROMIUM ?? "/usr/bin/chromium";
/** Where the screenshots of each view go (the test output; not committed). */
export const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));

/** Chromium's flags for a shared CI machine: no sandbox (root), no GPU, nothing fetched in the background. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-dev-shm-usage",
];

/** Why the browser tests cannot run here, or false. Under CI=true they never skip. */
export function browserSkip(): string | false {
  if (process.env.CI === "true") return false;
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`;
  return false;
}

export interface Serve {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `herald serve` (memory storage, a free port) with these API keys (`key:scope,…;…`). */
export async function startServe(apiKeys: string): Promise<Serve> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith("HERALD_")) env[name] = value;
  env.HERALD_API_KEYS = apiKeys;
  const child = spawn(
    process.execPath,
    [
      `${REPO}/packages/cli/dist/src/main.js`,
      "serve",
      "--storage",
      "memory",
      "--port",
      "0",
      "--log-format",
      "pretty",
    ],
    { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      const match = /herald listening on (http:\/\/\S+)/.exec(stderr);
      if (match?.[1]) resolve(match[1]);
    });
    child.stdout!.resume();
    child.once("exit", (code) => reject(new Error(`herald serve exited ${code}:\n${stderr}`)));
  });
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A push sink that refuses every event with 400 (so each becomes a dead letter at once) and counts them. */
export async function rejectingSink(): Promise<{
  url: string;
  received: () => number;
  close(): Promise<void>;
}> {
  let received = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      res.writeHead(400, { "content-type": "text/plain" });
      res.end("refused by the test sink");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received: () => received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The API as the test sees it: JSON in, status and JSON out. */
export function api(base: string, key: string) {
  return async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined && !(body instanceof Uint8Array)
          ? { "content-type": "application/json" }
          : {}),
        ...headers,
      },
      ...(body === undefined
        ? {}
        : { body: body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
}

/** Polls an API condition (not time): resolves with the first truthy value; fails after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
