// One child process of the system: spawned with `node <script>`, ready when a line of its output
// matches, its stderr kept (the last lines explain a failed start) and handed to a logger.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Children still running, killed if this process exits without closing them (a crashed test). */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

export interface ChildOptions {
  readonly name: string;
  readonly script: string;
  readonly args?: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** The line that says the child is ready; its first group is the child's URL. */
  readonly ready: RegExp;
  /** Which stream carries the ready line. */
  readonly readyOn: "stdout" | "stderr";
  readonly log: (name: string, line: string) => void;
  /** How long the child may take to get ready. */
  readonly startTimeoutMs?: number;
  /** The child ended after it was ready without being asked to (a crash): its last stderr lines. */
  readonly onCrash?: (name: string, code: number | string | null, lines: readonly string[]) => void;
}

const KEPT_LINES = 40;

export class Child {
  readonly name: string;
  readonly #process: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #lines: string[] = [];
  #stopping = false;

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.#process = child;
    live.add(child);
    this.#exited = new Promise((resolve) =>
      child.once("exit", () => {
        live.delete(child);
        resolve();
      }),
    );
  }

  /** Spawns the child and resolves with it and its URL once it printed its ready line. */
  static async start(options: ChildOptions): Promise<{ child: Child; url: string }> {
    const spawned = spawn(process.execPath, [options.script, ...(options.args ?? [])], {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const child = new Child(options.name, spawned);
    let ready = false;
    spawned.once("exit", (code, signal) => {
      if (ready && !child.#stopping) options.onCrash?.(options.name, signal ?? code, child.#lines);
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        spawned.kill("SIGKILL");
        reject(child.#failure(`not ready after ${options.startTimeoutMs ?? 60_000} ms`));
      }, options.startTimeoutMs ?? 60_000);
      const onLine = (stream: "stdout" | "stderr") => (line: string) => {
        if (stream === "stderr") child.#keep(line, options.log);
        const match = stream === options.readyOn ? options.ready.exec(line) : null;
        if (match) {
          ready = true;
          clearTimeout(timer);
          resolve(match[1] ?? "");
        }
      };
      createInterface({ input: spawned.stdout! }).on("line", onLine("stdout"));
      createInterface({ input: spawned.stderr! }).on("line", onLine("stderr"));
      spawned.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(child.#failure(`exited (${signal ?? code}) before it was ready`));
      });
      spawned.once("error", (error) => {
        clearTimeout(timer);
        reject(child.#failure(`could not be spawned: ${error.message}`));
      });
    });
    return { child, url };
  }

  get running(): boolean {
    return this.#process.exitCode === null && this.#process.signalCode === null;
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** The last lines the child wrote to stderr. */
  lastLines(): readonly string[] {
    return this.#lines;
  }

  /** Sends `signal` and waits for the exit; SIGTERM turns into SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 15_000): Promise<void> {
    if (!this.running) return this.#exited;
    this.#stopping = true;
    this.#process.kill(signal);
    const timer = setTimeout(() => this.#process.kill("SIGKILL"), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  #keep(line: string, log: (name: string, line: string) => void) {
    this.#lines.push(line);
    if (this.#lines.length > KEPT_LINES) this.#lines.shift();
    log(this.name, line);
  }

  #failure(what: string): Error {
    const tail = this.#lines.length > 0 ? `; its last lines:\n${this.#lines.join("\n")}` : "";
    return new Error(`${this.name} ${what}${tail}`);
  }
}
