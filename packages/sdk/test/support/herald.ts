// A real `herald serve` for integration tests: in-process (startServer) or as a child process.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { type HeraldServer, startServer } from "@herald/server";

export interface RunningHerald {
  readonly url: string;
  close(): Promise<void>;
}

/** In-process broker on a free port, memory log, loopback push sinks allowed (tests use local receivers). */
export async function startHerald(): Promise<RunningHerald & { server: HeraldServer }> {
  const server = await startServer({
    port: 0,
    memory: true,
    logLevel: "silent",
    sinks: { allowPrivateNetworks: true },
    shutdownDrainMs: 1_000,
  });
  return { url: server.url, server, close: () => server.close() };
}

const fixture = fileURLToPath(new URL("./serve-fixture.js", import.meta.url));

/** The broker as a separate process (what a service talks to in production). */
export async function startHeraldProcess(): Promise<RunningHerald & { child: ChildProcess }> {
  const child = spawn(process.execPath, [fixture], { stdio: ["ignore", "pipe", "inherit"] });
  let buffered = "";
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split("\n")[0];
      if (buffered.includes("\n") && line) {
        child.stdout!.off("data", onData);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`herald fixture exited with ${code} before listening`)));
  });
  return {
    url,
    child,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}
