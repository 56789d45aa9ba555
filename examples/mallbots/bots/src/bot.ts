// One simulated shopper robot on the gateway's bot stream. It says hello, takes the tasks the stream
// brings one at a time, walks to each stop (stepMs), reports it, then reports the task completed.
// Depot decides everything else: a recall stops the task at once, a refused report drops it.
//
// When the socket drops, the bot drops what it was doing (the gateway tells Depot the bot is gone,
// and Depot queues the task again) and reconnects with backoff. If Depot still gives it the same
// task after the reconnect, the bot resumes at the first stop it had not reported.
import WebSocket from "ws";
import { type BotMessage, type Frame, HELLO_ID, streamItem, type Task } from "./protocol.js";

export type Behaviour = "shop" | "stall";

export interface BotOptions {
  readonly botId: string;
  /** ws(s)://…/bots/stream?access_token=… */
  readonly streamUrl: string;
  /** Time per store (ms). */
  readonly stepMs: number;
  /** `stall`: takes tasks and never finishes them (to see Depot's and the saga's timeouts). */
  readonly behaviour: Behaviour;
  /** A reply that does not come within this long counts as a lost connection (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Reconnect backoff (ms): doubles from base up to cap, with jitter. */
  readonly reconnect?: { readonly baseMs?: number; readonly capMs?: number };
  readonly log?: (line: string) => void;
}

/** The gateway answered a report with a problem (Depot refused it: the task was cancelled…). */
class Refused extends Error {
  override readonly name = "Refused";
}
/** A problem that says "not now" (Depot restarting: 503): the report is made again. */
class Unavailable extends Error {
  override readonly name = "Unavailable";
}
const transient = (status: number | undefined) =>
  status === undefined || status >= 500 || status === 408 || status === 429;
class Disconnected extends Error {
  override readonly name = "Disconnected";
}

interface Pending {
  resolve(): void;
  reject(error: Error): void;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });

export class Bot {
  readonly botId: string;
  readonly #options: BotOptions;
  readonly #log: (line: string) => void;
  #socket: WebSocket | undefined;
  #nextId = HELLO_ID + 1;
  readonly #pending = new Map<number, Pending>();
  /** Tasks the stream brought while the bot was busy (a dispatch can overtake the recall before it). */
  #queue: Task[] = [];
  #current: { readonly task: Task; readonly abort: AbortController } | undefined;
  /** Stores reported per task, so a task handed back after a reconnect resumes where it was. */
  readonly #reported = new Map<string, Set<string>>();
  /** Completed or recalled: a late copy of such a task is ignored. */
  readonly #finished = new Set<string>();
  #attempt = 0;
  #openedAt = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #connections = 0;
  #onConnected: (() => void) | undefined;
  /** Resolves when the first hello was sent. */
  readonly connected: Promise<void>;

  constructor(options: BotOptions) {
    this.botId = options.botId;
    this.#options = options;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.connected = new Promise((resolve) => {
      this.#onConnected = resolve;
    });
  }

  /** The task being shopped, if any. */
  get currentTask(): string | undefined {
    return this.#current?.task.taskId;
  }

  /** How many times the socket opened (and said hello). */
  get connections(): number {
    return this.#connections;
  }

  start(): void {
    this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    this.#current?.abort.abort(new Disconnected("stopped"));
    const socket = this.#socket;
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.close(1000, "bot stopped");
    await closed;
  }

  #connect(): void {
    if (this.#stopped) return;
    const socket = new WebSocket(this.#options.streamUrl);
    this.#socket = socket;
    socket.on("open", () => {
      this.#openedAt = Date.now();
      this.#connections++;
      this.#send(HELLO_ID, { type: "hello", botId: this.botId });
      this.#onConnected?.();
    });
    socket.on("message", (raw) => this.#onFrame(String(raw)));
    socket.on("error", (error) => this.#log(`${this.botId}: ${error.message}`));
    socket.on("close", () => this.#onClose(socket));
  }

  #onClose(socket: WebSocket): void {
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    for (const pending of this.#pending.values()) pending.reject(new Disconnected("the socket closed"));
    this.#pending.clear();
    // Depot hears the bot is gone and queues its task again: nothing here is this bot's any more.
    this.#queue = [];
    this.#current?.abort.abort(new Disconnected("the socket closed"));
    if (this.#stopped) return;
    // A connection that lived a while starts the backoff over; one that ends at once (the gateway
    // cannot reach Depot yet) backs off further, so a bot does not hammer a gateway that is waiting.
    const { capMs = 5_000 } = this.#options.reconnect ?? {};
    if (this.#openedAt > 0 && Date.now() - this.#openedAt > capMs) this.#attempt = 0;
    this.#openedAt = 0;
    this.#reconnectTimer = setTimeout(() => this.#connect(), this.#backoff(this.#attempt++));
  }

  #send(id: number, data: BotMessage): void {
    this.#socket?.send(JSON.stringify({ id, data }));
  }

  #onFrame(text: string): void {
    let frame: Frame;
    try {
      frame = JSON.parse(text) as Frame;
    } catch {
      this.#log(`${this.botId}: a frame that is not JSON`);
      return;
    }
    if (frame.id === HELLO_ID) {
      if (frame.done || frame.problem) {
        // The stream ended (the gateway could not reach Depot…): without it the bot is deaf. Start over.
        this.#log(`${this.botId}: stream ended ${frame.problem ? JSON.stringify(frame.problem) : ""}`);
        this.#socket?.close(4000, "stream ended");
        return;
      }
      const item = streamItem(frame.data);
      if (item?.type === "task") this.#take(item);
      else if (item?.type === "recall") this.#recall(item.taskId);
      return;
    }
    const pending = typeof frame.id === "number" ? this.#pending.get(frame.id) : undefined;
    if (pending === undefined) return;
    this.#pending.delete(frame.id as number);
    const problem = frame.problem;
    if (problem === undefined) pending.resolve();
    else {
      const reason = problem.detail ?? problem.code ?? "refused";
      pending.reject(transient(problem.status) ? new Unavailable(reason) : new Refused(reason));
    }
  }

  #take(task: Task): void {
    const known =
      this.#finished.has(task.taskId) ||
      this.#current?.task.taskId === task.taskId ||
      this.#queue.some((t) => t.taskId === task.taskId);
    if (known) return;
    this.#queue.push(task);
    this.#next();
  }

  #recall(taskId: string): void {
    this.#finished.add(taskId);
    this.#queue = this.#queue.filter((t) => t.taskId !== taskId);
    if (this.#current?.task.taskId === taskId) {
      this.#log(`${this.botId}: recalled from ${taskId}`);
      this.#current.abort.abort(new Refused("recalled"));
    }
  }

  #next(): void {
    if (this.#current !== undefined) return;
    const task = this.#queue.shift();
    if (task === undefined) return;
    const current = { task, abort: new AbortController() };
    this.#current = current;
    void this.#shop(task, current.abort.signal).finally(() => {
      if (this.#current === current) this.#current = undefined;
      this.#next();
    });
  }

  async #shop(task: Task, signal: AbortSignal): Promise<void> {
    try {
      if (this.#options.behaviour === "stall") {
        await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
        return;
      }
      const reported = this.#reported.get(task.taskId) ?? new Set<string>();
      this.#reported.set(task.taskId, reported);
      for (const stop of task.stops) {
        if (reported.has(stop.storeId)) continue;
        await sleep(this.#options.stepMs, signal);
        const { botId } = this;
        await this.#report(
          { type: "stop-shopped", botId, taskId: task.taskId, storeId: stop.storeId },
          signal,
        );
        reported.add(stop.storeId);
      }
      await this.#report({ type: "completed", botId: this.botId, taskId: task.taskId }, signal);
      this.#finished.add(task.taskId);
      this.#reported.delete(task.taskId);
    } catch (error) {
      // Recalled or refused: the task is not this bot's. Disconnected: it may come back on reconnect.
      if (error instanceof Refused) {
        this.#reported.delete(task.taskId);
        this.#log(`${this.botId}: dropped ${task.taskId}: ${error.message}`);
      } else if (!(error instanceof Disconnected)) {
        // A bug, not the gateway's answer: say so, and let the bot take its next task.
        this.#log(`${this.botId}: ${task.taskId} failed: ${String(error)}`);
      }
    }
  }

  /** A report, made again (with backoff) while the answer is "unavailable": the bot keeps its task. */
  async #report(data: BotMessage, signal: AbortSignal): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#request(data, signal);
      } catch (error) {
        if (!(error instanceof Unavailable)) throw error;
        this.#log(`${this.botId}: ${data.type} not taken (${error.message}), again`);
        await sleep(this.#backoff(attempt), signal);
      }
    }
  }

  #backoff(attempt: number): number {
    const { baseMs = 200, capMs = 5_000 } = this.#options.reconnect ?? {};
    return Math.min(capMs, baseMs * 2 ** attempt) * (0.5 + Math.random() / 2);
  }

  /** Sends a report and waits for its `{ ok: true }`; a problem answer is Refused or Unavailable. */
  #request(data: BotMessage, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const id = this.#nextId++;
    return new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Disconnected("no answer"));
        // A gateway that stops answering is a lost connection: start over.
        this.#socket?.terminate();
      }, this.#options.requestTimeoutMs ?? 30_000);
      const done = () => {
        clearTimeout(timeout);
        signal.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        done();
        this.#pending.delete(id);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, {
        resolve: () => {
          done();
          resolve();
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
      this.#send(id, data);
    });
  }
}
