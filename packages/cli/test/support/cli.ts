// Runs the compiled `herald` CLI as a child process, as a user would.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const MAIN = fileURLToPath(new URL("../../src/main.js", import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly stdin?: string;
  readonly env?: Record<string, string | undefined>;
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

/** A clean environment: no HERALD_* from the developer's shell leaks into a test. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("HERALD_") && name !== "NO_COLOR") env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

export function startCli(args: readonly string[], options: RunOptions = {}): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], {
    env: cleanEnv(options.env),
    stdio: ["pipe", "pipe", "pipe"],
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
}

export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const child = startCli(args, options);
  return collect(child, options);
}

export function collect(child: ChildProcess, options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`herald did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    else child.stdin?.end();
  });
}

/** Resolves with the first match of `pattern` in the child's stream (e.g. the "listening on" line). */
export function waitForOutput(
  child: ChildProcess,
  stream: "stdout" | "stderr",
  pattern: RegExp,
  timeoutMs = 15_000,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const source = child[stream];
    if (source === null) {
      reject(new Error(`no ${stream} to watch`));
      return;
    }
    const timer = setTimeout(() => {
      source.off("data", onData);
      reject(new Error(`timed out waiting for ${pattern} on ${stream}; saw: ${seen}`));
    }, timeoutMs);
    const onData = (chunk: Buffer | string) => {
      seen += chunk.toString();
      const match = seen.match(pattern);
      if (match) {
        clearTimeout(timer);
        source.off("data", onData);
        resolve(match);
      }
    };
    source.on("data", onData);
    child.once("exit", () => {
      clearTimeout(timer);
      source.off("data", onData);
      if (!seen.match(pattern)) reject(new Error(`herald exited before printing ${pattern}; saw: ${seen}`));
    });
  });
}
