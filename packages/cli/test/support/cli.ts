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

export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything written to the stream so far. */
  output(stream: "stdout" | "stderr"): string;
  /** Resolves with the first match of `pattern` in all output of `stream` so far or to come. */
  waitFor(stream: "stdout" | "stderr", pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves when the process has exited and its streams are closed. */
  readonly done: Promise<CliResult>;
}

export function startCli(args: readonly string[], options: RunOptions = {}): CliProcess {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: cleanEnv(options.env),
    stdio: ["pipe", "pipe", "pipe"],
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
  const seen = { stdout: "", stderr: "" };
  const changed = new EventTarget();
  for (const stream of ["stdout", "stderr"] as const) {
    child[stream]?.setEncoding("utf8").on("data", (chunk: string) => {
      seen[stream] += chunk;
      changed.dispatchEvent(new Event("data"));
    });
  }
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      changed.dispatchEvent(new Event("close"));
      resolve({ code, signal, stdout: seen.stdout, stderr: seen.stderr });
    });
  });
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  else child.stdin?.end();
  const waitFor = (stream: "stdout" | "stderr", pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = (event?: Event) => {
        const match = seen[stream].match(pattern);
        if (match) finish(() => resolve(match));
        else if (event?.type === "close") finish(() => reject(failure("herald exited before printing")));
      };
      const failure = (why: string) =>
        new Error(`${why} ${pattern} on ${stream}; stdout: ${seen.stdout}\nstderr: ${seen.stderr}`);
      const timer = setTimeout(() => finish(() => reject(failure("timed out waiting for"))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        changed.removeEventListener("data", check);
        changed.removeEventListener("close", check);
        settle();
      };
      changed.addEventListener("data", check);
      changed.addEventListener("close", check);
      check();
    });
  return { child, output: (stream) => seen[stream], waitFor, done };
}

/** Runs the CLI to completion (killed after `timeoutMs`). */
export async function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const running = startCli(args, options);
  const timer = setTimeout(() => running.child.kill("SIGKILL"), options.timeoutMs ?? 20_000);
  const result = await running.done;
  clearTimeout(timer);
  if (result.signal === "SIGKILL") {
    throw new Error(`herald did not finish in time\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return result;
}
