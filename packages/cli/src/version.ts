// `herald --version --url U`: the CLI's version, then the server's (from /healthz's `version`).
import { HeraldClient } from "@herald/sdk";
import { InvalidArgumentError } from "commander";
import { UsageError } from "./errors.js";
import { httpUrl } from "./options.js";
import type { Output } from "./output.js";

/**
 * The `--url` of a `herald --version --url U` command line (also `-V`, `--url=U`), or undefined when the
 * line is anything else (commander then answers as usual).
 */
export function versionUrl(argv: readonly string[]): string | undefined {
  let version = false;
  let url: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--version" || arg === "-V") version = true;
    else if (arg === "--url" && i + 1 < argv.length) url = argv[++i];
    else if (arg.startsWith("--url=")) url = arg.slice("--url=".length);
    else return undefined;
  }
  return version && url !== undefined ? url : undefined;
}

/** Prints both versions; "server: unknown" when the server does not say (older servers). */
export async function printVersions(cliVersion: string, url: string, out: Output): Promise<void> {
  let checked: string;
  try {
    checked = httpUrl(url);
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new UsageError(`--url: ${error.message}`);
    throw error;
  }
  out.data(cliVersion);
  const client = new HeraldClient({ url: checked, retry: false, timeoutMs: 10_000 });
  try {
    // `version` is read loosely: servers before it was added answer {"status":"ok"} only.
    const version: unknown = ((await client.health()) as object as Record<string, unknown>).version;
    out.data(`server: ${typeof version === "string" ? version : "unknown"}`);
  } finally {
    await client.close();
  }
}
