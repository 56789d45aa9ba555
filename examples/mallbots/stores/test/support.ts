// Test helpers: a config on a temp dir, waits on conditions, the log's events from one source.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HeraldClient, JsonEventObject } from "@herald/sdk";
import { type MallbotsConfig, readConfig } from "@mallbots/contracts";

export function tempDir(): { readonly path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), "mallbots-stores-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function testConfig(heraldUrl: string, dataDir: string, env: NodeJS.ProcessEnv = {}): MallbotsConfig {
  return readConfig({
    MALLBOTS_HERALD_URL: heraldUrl,
    MALLBOTS_DATA_DIR: dataDir,
    MALLBOTS_PORT: "0",
    ...env,
  });
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every event of `source` in the log, in log order. */
export async function eventsFrom(client: HeraldClient, source: string): Promise<JsonEventObject[]> {
  const events: JsonEventObject[] = [];
  for await (const entry of client.events({ filter: `source = '${source}'` })) events.push(entry.event);
  return events;
}

/** A fetch with the API key (none when undefined) and a JSON body. */
export async function call(
  url: string,
  key: string | undefined,
  method = "GET",
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<{ readonly status: number; readonly body: unknown }> {
  const headers: Record<string, string> = { ...extraHeaders };
  if (key !== undefined) headers["x-api-key"] = key;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? undefined : JSON.parse(text) };
}
