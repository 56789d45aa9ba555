// The projector: feeds a read model from a source, one database transaction per batch holding both
// the read-model change and the checkpoint, so after any crash the read model is exactly the fold of
// the events up to its checkpoint (each event takes effect once). The read model lives in a table of
// its generation behind a view named after the projection; rebuild() fills the next generation from
// position 0 beside the live one and swaps the view in one transaction when it has caught up, so
// queries (against the view) never stop.
import { checkpointStaleness } from "@herald/log";
import { StaleCheckpointError } from "../errors.js";
import type { ProjectionEvent, ProjectionSource } from "./source.js";

/** The log a projection's checkpoint was taken on (stored beside it). */
export interface LogStamp {
  readonly id: string;
  readonly epoch: string;
}

/** A database that holds read models and their checkpoints (SQLite and PostgreSQL implement it). */
export interface ProjectionBackend {
  readonly name: string;
  /**
   * Creates the bookkeeping tables if needed; the active generation, its checkpoint and the log it
   * was taken on (undefined before the first stamp).
   */
  open(): Promise<{ readonly generation: number; readonly position: number; readonly log?: LogStamp }>;
  /** Stores the log the projection's checkpoints are taken on from now on. */
  stampLog(stamp: LogStamp): Promise<void>;
  /** One transaction: the events after the stored checkpoint take effect, the checkpoint moves on. */
  applyBatch(generation: number, events: readonly ProjectionEvent[]): Promise<void>;
  /** A fresh, empty table for `generation` (dropping leftovers of an interrupted rebuild). */
  prepare(generation: number): Promise<void>;
  /** One transaction: the view shows `to`, `to` is active, `from`'s table is dropped. */
  swap(from: number, to: number): Promise<void>;
}

export interface BatchReport {
  readonly projection: string;
  readonly generation: number;
  /** Checkpoint after the batch. */
  readonly position: number;
  readonly events: number;
  readonly durationMs: number;
  readonly rebuilding: boolean;
}

export interface ProjectorOptions {
  readonly backend: ProjectionBackend;
  readonly source: ProjectionSource;
  /** Most events per transaction (default 200). */
  readonly batchSize?: number;
  /** Metrics hook, after each committed batch. */
  readonly onBatch?: (report: BatchReport) => void;
  /** The projection stopped on this error (an unreadable event, the database…). */
  readonly onError?: (error: unknown) => void;
  /**
   * What start() does with a stale checkpoint (the source's log was restored from a backup older
   * than the checkpoint, or it is another log): `refuse` (default) rejects with
   * StaleCheckpointError; `rebuild` empties the read model (a new generation, shown at once) and
   * projects it again from the beginning.
   */
  readonly onStaleCheckpoint?: "refuse" | "rebuild";
  /** Told of every stale checkpoint found, whatever is done about it (log it, count it). */
  readonly staleCheckpoint?: (report: StaleCheckpointReport) => void;
}

export interface StaleCheckpointReport {
  readonly projection: string;
  readonly position: number;
  readonly reason: "ahead" | "foreign";
  readonly action: "refused" | "rebuilt";
}

export interface ProjectionLag {
  /** The checkpoint the lag was measured from: the read model is caught up at `position + events`. */
  readonly position: number;
  /** Events in the log after the checkpoint (an upper bound when `exact` is false). */
  readonly events: number;
  readonly exact: boolean;
  /** How long the oldest unprojected event has waited; 0 when caught up. */
  readonly seconds: number;
}

interface Loop {
  generation: number;
  position: number;
  stopped: boolean;
  close(): void;
  done: Promise<void>;
}

const IDLE = Symbol("idle");
const idle = (): Promise<typeof IDLE> => new Promise((resolve) => setImmediate(() => resolve(IDLE)));

export class Projector {
  readonly #options: ProjectorOptions;
  #live: Loop | undefined;
  #rebuild: { loop: Loop; swapped: () => void; failed: (e: unknown) => void } | undefined;
  #lock: Promise<void> = Promise.resolve();
  #failure: unknown;
  readonly #waiters = new Set<{ position: number; resolve: () => void; reject: (e: unknown) => void }>();

  constructor(options: ProjectorOptions) {
    this.#options = options;
  }

  /** Opens the backend and starts projecting from the active generation's checkpoint. */
  async start(): Promise<void> {
    if (this.#live) throw new Error("projector already started");
    const backend = this.#options.backend;
    let { generation, position, log } = await backend.open();
    const source = await this.#options.source.identity?.();
    if (source !== undefined) {
      const reason = checkpointStaleness(
        log,
        position,
        source.identity,
        source.head ?? Number.MAX_SAFE_INTEGER,
      );
      if (reason !== undefined) {
        const rebuild = this.#options.onStaleCheckpoint === "rebuild";
        this.#options.staleCheckpoint?.({
          projection: backend.name,
          position,
          reason,
          action: rebuild ? "rebuilt" : "refused",
        });
        if (!rebuild) throw new StaleCheckpointError(backend.name, position, reason);
        // The read model holds events the log does not: drop it, start again from the beginning.
        await backend.prepare(generation + 1);
        await backend.swap(generation, generation + 1);
        generation += 1;
        position = 0;
      }
      if (log?.id !== source.identity.id || log.epoch !== source.identity.epoch)
        await backend.stampLog({ id: source.identity.id, epoch: source.identity.epoch });
    }
    this.#live = this.#startLoop(generation, position);
  }

  get generation(): number | undefined {
    return this.#live?.generation;
  }

  /** The live read model's checkpoint. */
  get position(): number {
    return this.#live?.position ?? 0;
  }

  async lag(): Promise<ProjectionLag> {
    const position = this.position;
    const lag = await this.#options.source.lag(position);
    const seconds =
      lag.oldestRecordedAt === undefined ? 0 : Math.max(0, (Date.now() - lag.oldestRecordedAt) / 1000);
    return { position, events: lag.events, exact: lag.exact, seconds };
  }

  /** Resolves once the live read model includes `position` (rejects if the projector fails). */
  waitFor(position: number): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.position >= position) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.add({ position, resolve, reject }));
  }

  /**
   * Rebuilds the read model from position 0 into the next generation while the current one keeps
   * serving and updating; resolves once the view shows the new generation.
   */
  async rebuild(): Promise<void> {
    const live = this.#live;
    if (!live) throw new Error("projector not started");
    if (this.#rebuild) throw new Error("a rebuild is already running");
    const next = live.generation + 1;
    await this.#options.backend.prepare(next);
    return new Promise<void>((swapped, failed) => {
      this.#rebuild = { loop: this.#startLoop(next, 0), swapped, failed };
      // An empty log: nothing to catch up, swap at once.
      this.#exclusive(() => this.#maybeSwap()).catch(failed);
    });
  }

  async stop(): Promise<void> {
    const loops = [this.#live, this.#rebuild?.loop].filter((l): l is Loop => l !== undefined);
    for (const loop of loops) {
      loop.stopped = true;
      loop.close();
    }
    await Promise.all(loops.map((l) => l.done));
    await this.#lock;
  }

  #exclusive(body: () => Promise<void>): Promise<void> {
    const run = this.#lock.then(body);
    this.#lock = run.catch(() => {});
    return run;
  }

  #startLoop(generation: number, position: number): Loop {
    const loop: Loop = { generation, position, stopped: false, close: () => {}, done: Promise.resolve() };
    loop.done = this.#run(loop).catch((error: unknown) => this.#fail(loop, error));
    return loop;
  }

  async #run(loop: Loop): Promise<void> {
    const batchSize = this.#options.batchSize ?? 200;
    const subscription = this.#options.source.subscribe(loop.position);
    loop.close = () => subscription.close();
    if (loop.stopped) subscription.close();
    const iterator = subscription[Symbol.asyncIterator]();
    let pending = iterator.next();
    try {
      while (!loop.stopped) {
        const first = await pending;
        if (first.done) return;
        const batch: ProjectionEvent[] = [first.value];
        pending = iterator.next();
        // Take what is already there, without waiting for more: a batch never delays an event.
        while (batch.length < batchSize) {
          const next = await Promise.race([pending, idle()]);
          if (next === IDLE || next.done) break;
          batch.push(next.value);
          pending = iterator.next();
        }
        await this.#exclusive(() => this.#commit(loop, batch));
      }
    } finally {
      subscription.close();
      await iterator.return?.();
    }
  }

  async #commit(loop: Loop, batch: readonly ProjectionEvent[]): Promise<void> {
    if (loop.stopped) return;
    const started = performance.now();
    await this.#options.backend.applyBatch(loop.generation, batch);
    loop.position = batch.at(-1)!.position;
    const rebuilding = loop !== this.#live;
    this.#options.onBatch?.({
      projection: this.#options.backend.name,
      generation: loop.generation,
      position: loop.position,
      events: batch.length,
      durationMs: performance.now() - started,
      rebuilding,
    });
    if (rebuilding) await this.#maybeSwap();
    else this.#wake();
  }

  /** Under the lock: the rebuilt generation holds everything the live one does, so it takes over. */
  async #maybeSwap(): Promise<void> {
    const rebuild = this.#rebuild;
    const live = this.#live;
    if (!rebuild || !live || rebuild.loop.position < live.position) return;
    await this.#options.backend.swap(live.generation, rebuild.loop.generation);
    live.stopped = true;
    live.close();
    this.#live = rebuild.loop;
    this.#rebuild = undefined;
    this.#wake();
    rebuild.swapped();
  }

  #wake(): void {
    for (const waiter of this.#waiters) {
      if (this.position >= waiter.position) {
        this.#waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  #fail(loop: Loop, error: unknown): void {
    if (loop.stopped) return;
    loop.stopped = true;
    if (this.#rebuild?.loop === loop) {
      this.#rebuild.failed(error);
      this.#rebuild = undefined;
      return;
    }
    this.#failure = error;
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters.clear();
    this.#options.onError?.(error);
  }
}
