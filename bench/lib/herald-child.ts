// The server under test runs in a child process, as `herald serve` does: the bench file starts itself with
// `--serve <dataDir>`, the child prints `READY <url>` once it listens.
import { type ChildProcess, spawn } from "node:child_process";

/**
 * Starts `script <mode> dataDir` (mode `--serve` unless told) and resolves once it is listening; `env`
 * is added to the child's environment. HERALD_BENCH_SERVER_NODE_ARGS="--cpu-prof" profiles the child.
 */
export function spawnHerald(
  script: string,
  dataDir: string,
  options: { readonly env?: Record<string, string>; readonly mode?: string } = {},
): Promise<{ child: ChildProcess; url: URL }> {
  const nodeArgs = (process.env.HERALD_BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter((a) => a.length > 0);
  const child = spawn(process.execPath, [...nodeArgs, script, options.mode ?? "--serve", dataDir], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...options.env },
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      out += chunk;
      const match = /READY (\S+)/.exec(out);
      if (match) resolve({ child, url: new URL(match[1]!) });
    });
    child.once("exit", (code) => reject(new Error(`herald child exited (${code})`)));
  });
}

/** Ends the child (SIGTERM: a graceful close) and waits for it. */
export async function stopHerald(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}
