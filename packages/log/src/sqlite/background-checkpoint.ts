// Starts and stops the background checkpointer (checkpointer.ts) for a file-backed log opened with
// checkpoint: "background". The log's own connection then runs with wal_autocheckpoint=0, so without
// this the WAL would only grow. If the worker fails, the log falls back to SQLite's automatic
// checkpoint on its own connection (the "inline" behaviour): the WAL keeps every committed frame
// until then, so nothing is lost.
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";
import type { CheckpointerData } from "./checkpointer.js";
import type { Durability } from "./schema.js";

/** WAL frames (pages) that trigger a checkpoint, inline or background: ~40 MiB with 4 KiB pages. */
export const DEFAULT_CHECKPOINT_FRAMES = 10_000;
/** How often the worker looks at the WAL's size. */
const POLL_MS = 50;
/** How long close waits for the worker to finish a checkpoint and close its connection. */
const STOP_TIMEOUT_MS = 10_000;

export class BackgroundCheckpoint {
  readonly #db: Database.Database;
  readonly #thresholdFrames: number;
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  #stopping = false;
  #fellBack = false;

  constructor(db: Database.Database, path: string, durability: Durability, thresholdFrames: number) {
    this.#db = db;
    this.#thresholdFrames = thresholdFrames;
    const data: CheckpointerData = {
      path,
      synchronous: durability === "full" ? "FULL" : "NORMAL",
      thresholdFrames,
      pollMs: POLL_MS,
    };
    this.#worker = new Worker(new URL("./checkpointer.js", import.meta.url), {
      workerData: data,
      // The worker needs none of the process's flags, and some break it: `node --input-type=module -e …`
      // (a server started from an inline script) would make the worker's own start fail.
      execArgv: [],
      // Not piped into process.stdout/stderr: that would open them as libuv streams and make fd 1
      // and 2 non-blocking for the whole process (writeSync(1, …) then fails with EAGAIN).
      stdout: true,
      stderr: true,
    });
    // The worker must not keep a process alive that has nothing else to do.
    this.#worker.unref();
    this.#worker.on("error", (error) => this.#fallBack(error));
    this.#exited = new Promise((resolve) => {
      this.#worker.once("exit", (code) => {
        if (!this.#stopping) this.#fallBack(new Error(`the checkpointer exited with code ${code}`));
        resolve();
      });
    });
  }

  /** Stops the worker and waits until its connection is closed. */
  async stop(): Promise<void> {
    if (this.#stopping) return this.#exited;
    this.#stopping = true;
    if (this.#fellBack) return this.#exited;
    this.#worker.postMessage("stop");
    const timeout = setTimeout(() => void this.#worker.terminate(), STOP_TIMEOUT_MS);
    await this.#exited;
    clearTimeout(timeout);
  }

  #fallBack(error: unknown): void {
    if (this.#fellBack || !this.#db.open) return;
    this.#fellBack = true;
    process.emitWarning(
      `@herald/log: the background WAL checkpointer failed (${String(error)}); checkpointing on the writer's connection instead`,
      { code: "HERALD_LOG_CHECKPOINTER" },
    );
    this.#db.pragma(`wal_autocheckpoint = ${this.#thresholdFrames}`);
  }
}
