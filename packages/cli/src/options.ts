// Flag parsers and the connection flags every client command shares.
import { type Command, InvalidArgumentError, Option } from "commander";
import { HeraldClient } from "@herald/sdk";
import { UsageError } from "./errors.js";
import type { ProgressMode } from "./progress.js";

export const DEFAULT_URL = "http://127.0.0.1:8080";

/** A commander parser for an integer flag within [min, max]. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
      throw new InvalidArgumentError(`expected an integer, got "${value}".`);
    }
    if (parsed < min || parsed > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER ? `must be at least ${min}.` : `must be between ${min} and ${max}.`,
      );
    }
    return parsed;
  };
}

/** A commander parser for a time: an ISO 8601 date-time (or date), or a number of ms since the epoch. */
export function timestamp(value: string): number {
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) : Date.parse(trimmed);
  if (!Number.isFinite(ms)) {
    throw new InvalidArgumentError(`expected an ISO 8601 time (e.g. 2026-01-31T12:00:00Z), got "${value}".`);
  }
  return ms;
}

/** A commander parser for an http(s) URL. */
export function httpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected an http(s) URL, got "${value}".`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidArgumentError(`expected an http(s) URL, got "${value}".`);
  }
  return value;
}

/** Accumulates a repeatable flag into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export interface ConnectionFlags {
  readonly url: string;
  readonly apiKey?: string;
}

export function addConnectionOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--url <url>", "base URL of the Herald server")
        .env("HERALD_URL")
        .default(DEFAULT_URL)
        .argParser(httpUrl),
    )
    .addOption(new Option("--api-key <key>", "API key, sent as a Bearer token").env("HERALD_API_KEY"));
}

/**
 * The client of one command. One attempt per request: the CLI reports a failure at once, saying what
 * is known to be stored, instead of retrying behind the user's back. Its idle keep-alive sockets are
 * unref'd by node, so they never hold the process open.
 */
export function clientFrom(flags: ConnectionFlags): HeraldClient {
  return new HeraldClient({
    url: flags.url,
    ...(flags.apiKey ? { apiKey: flags.apiKey } : {}),
    retry: false,
    timeoutMs: 30_000,
  });
}

export function addProgressOptions(command: Command): Command {
  return command
    .option("--progress", "always show a progress bar (on stderr)")
    .option("--no-progress", "never show a progress bar");
}

/** commander gives `progress: true | false | undefined` for the --progress / --no-progress pair. */
export function progressMode(flag: boolean | undefined): ProgressMode {
  if (flag === undefined) return "auto";
  return flag ? "on" : "off";
}

export function requireOneOf(flags: Record<string, unknown>, names: readonly string[], what: string): void {
  const given = names.filter((name) => flags[name] !== undefined);
  if (given.length > 1) throw new UsageError(`${what}: use only one of ${given.map(flagName).join(", ")}`);
}

function flagName(name: string): string {
  return "--" + name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}
