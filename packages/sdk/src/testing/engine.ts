// An engine process of a test's own (nats-server, redis-server, mosquitto…) on a free port, with a
// data directory of its own, that the test can restart: what the conformance suite's reconnect case
// needs from a transport's factory (`TransportFactory.restartable`).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface EngineProcessOptions {
  /** For messages and the data directory's name ("nats", "redis", …). */
  readonly name: string;
  /** The executable (found on PATH). */
  readonly command: string;
  /** Its arguments for a port and a data directory that stay the same across restarts. */
  readonly args: (port: number, dir: string) => readonly string[];
  /** How long a start may take before it fails (default 15 000 ms). */
  readonly startTimeoutMs?: number;
}

/** A TCP port nobody listens on now (the OS's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export class EngineProcess {
  readonly port: number;
  readonly dir: string;
  readonly #options: EngineProcessOptions;
  #process: ChildProcess | undefined;

  private constructor(options: EngineProcessOptions, port: number, dir: string) {
    this.#options = options;
    this.port = port;
    this.dir = dir;
  }

  /** Starts the engine on a free port; resolves once it accepts connections. */
  static async start(options: EngineProcessOptions): Promise<EngineProcess> {
    const dir = mkdtempSync(join(tmpdir(), `herald-${options.name}-`));
    const engine = new EngineProcess(options, await freePort(), dir);
    await engine.#spawn();
    return engine;
  }

  async #spawn(): Promise<void> {
    const proc = spawn(this.#options.command, [...this.#options.args(this.port, this.dir)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    proc.stderr!.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2_000);
    });
    this.#process = proc;
    const exited = new Promise<never>((_, reject) => {
      proc.once("exit", (code) =>
        reject(new Error(`${this.#options.name} exited with ${code} while starting: ${stderr}`)),
      );
      // Not installed (ENOENT) or not executable.
      proc.once("error", (error) =>
        reject(new Error(`cannot start ${this.#options.command}: ${error.message}`)),
      );
    });
    exited.catch(() => undefined);
    const deadline = Date.now() + (this.#options.startTimeoutMs ?? 15_000);
    for (;;) {
      if (await Promise.race([accepts(this.port), exited])) return;
      if (Date.now() > deadline)
        throw new Error(`${this.#options.name} did not listen on ${this.port}: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Stops the engine (SIGTERM: it shuts down as a restarted service does) and waits for its exit. */
  async halt(): Promise<void> {
    const proc = this.#process;
    this.#process = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops it and starts it again on the same port with the same data directory. */
  async restart(): Promise<void> {
    await this.halt();
    await this.#spawn();
  }

  /** Stops it for good and removes its data directory. */
  async stop(): Promise<void> {
    await this.halt();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
