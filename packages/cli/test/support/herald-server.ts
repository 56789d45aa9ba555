// A real `herald serve` child process on a free port, for end-to-end tests of the CLI.
import type { ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCli } from "./cli.js";

export interface HeraldProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Everything the server wrote to stdout so far. */
  stdout(): string;
  /** Sends the signal and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export const LISTENING = /herald listening on (http:\/\/\S+) \(data: ([^)]*)\)/;

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "herald-cli-"));
}

/** Starts `herald serve --port 0 --log-level silent` (memory storage unless `--data`/`--storage` is given). */
export function startHerald(
  args: readonly string[] = [],
  env: Record<string, string | undefined> = {},
): Promise<HeraldProcess> {
  const storage = args.includes("--data") || args.includes("--storage") ? [] : ["--storage", "memory"];
  return startServe(["--port", "0", "--log-level", "silent", ...storage, ...args], env);
}

/**
 * Starts `herald serve <args>` and waits for its "listening on" line. The human lines are asked for with
 * `--log-format pretty` (the tests' stdout is no terminal, where serve would log JSON only) unless the
 * args choose a format.
 */
export async function startServe(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<HeraldProcess> {
  const format = args.includes("--log-format") ? [] : ["--log-format", "pretty"];
  const running = startCli(["serve", ...format, ...args], { env });
  const { child } = running;
  const match = await running.waitFor("stderr", LISTENING);
  return {
    url: match[1] ?? "",
    child,
    stderr: () => running.output("stderr"),
    stdout: () => running.output("stdout"),
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return (await running.done).code;
    },
  };
}
