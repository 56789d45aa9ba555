// Publishing over one persistent WebSocket (`/events/ws`): every send is a frame with an id of its
// own, many in flight at once; each resolves when the broker answers its id (durable: an ack with the
// results, or the problem). A dropped connection fails the frames on it; each send retries on a new
// connection as the HTTP publisher retries (same attempts and backoff; resending is safe: the broker
// dedupes by source+id). A refused upgrade (an older broker without the endpoint: 404) makes the
// client publish over HTTP from then on.
import {
  type AppendedEvent,
  type ProblemDetails,
  WS_INGEST_PATH,
  type WsPublishServerFrame,
} from "@herald/protocol";
import type { Duplex } from "node:stream";
import WebSocket from "ws";
import { backoffDelay, sleep } from "../backoff.js";
import { TransportError } from "../errors.js";
import { problemFromBody } from "./problem.js";
import type { RetryPolicy } from "./publisher.js";
import type { BatchSendResult } from "./send-result.js";

/** Problem statuses worth another attempt (as over HTTP). */
const RETRY_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

export interface WsPublisherOptions {
  /** Base URL of the broker (http: or https:). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly retry: Required<RetryPolicy>;
  /** Longest wait for the upgrade. */
  readonly connectTimeoutMs: number;
}

/** One frame's payload: the event (`event`) or batch (`events`) JSON text, already encoded. */
export interface WsSend {
  readonly batch: boolean;
  readonly json: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** The broker answered the upgrade with an HTTP status: it has no (usable) WebSocket ingest. */
class UpgradeRefused extends Error {
  readonly status: number;
  constructor(status: number, detail: string) {
    super(`WebSocket ingest refused (${status}): ${detail}`);
    this.status = status;
  }
}

type Answer = { readonly results: readonly AppendedEvent[] } | { readonly problem: ProblemDetails };

export class WsPublisher {
  readonly #options: WsPublisherOptions;
  #socket: IngestSocket | undefined;
  #connecting: Promise<IngestSocket> | undefined;
  #unavailable = false;
  #closed = false;
  readonly #sends = new Set<Promise<unknown>>();

  constructor(options: WsPublisherOptions) {
    this.#options = options;
  }

  /** False once the broker refused the upgrade: sends go over HTTP. */
  get available(): boolean {
    return !this.#unavailable && !this.#closed;
  }

  /** The send's result, or undefined when the broker has no WebSocket ingest (send it over HTTP). */
  send(send: WsSend): Promise<BatchSendResult | undefined> {
    const run = this.#send(send);
    this.#sends.add(run);
    void run.finally(() => this.#sends.delete(run));
    return run;
  }

  async #send(send: WsSend): Promise<BatchSendResult | undefined> {
    const retry = this.#options.retry;
    for (let attempt = 1; ; attempt++) {
      let answer: Answer;
      try {
        const socket = await this.#connection();
        answer = await socket.roundTrip(send);
      } catch (error) {
        if (error instanceof UpgradeRefused) {
          this.#unavailable = true;
          return undefined;
        }
        if (attempt >= retry.attempts || send.signal?.aborted || this.#closed) {
          return { kind: "undelivered", ok: false, error: error as Error, attempts: attempt };
        }
        await sleep(backoffDelay(attempt, retry), send.signal);
        continue;
      }
      if ("results" in answer) return { kind: "ack", ok: true, attempts: attempt, results: answer.results };
      const status = answer.problem.status;
      if (RETRY_STATUSES.has(status) && attempt < retry.attempts && !send.signal?.aborted) {
        await sleep(backoffDelay(attempt, retry), send.signal);
        continue;
      }
      return { kind: "nack", ok: false, status, problem: answer.problem, attempts: attempt };
    }
  }

  /** The open connection, or a new one (one attempt shared by every send waiting for it). */
  #connection(): Promise<IngestSocket> {
    if (this.#closed) return Promise.reject(new TransportError("closed", "the publisher is closed"));
    if (this.#socket?.open) return Promise.resolve(this.#socket);
    this.#connecting ??= IngestSocket.open(this.#options).then(
      (socket) => {
        this.#connecting = undefined;
        this.#socket = socket;
        return socket;
      },
      (error: unknown) => {
        this.#connecting = undefined;
        throw error;
      },
    );
    return this.#connecting;
  }

  /** Waits for sends in flight to settle (answers, or their timeouts), then closes the connection. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#sends]);
    this.#closed = true;
    this.#socket?.close();
    const connecting = this.#connecting;
    if (connecting) await connecting.then((s) => s.close()).catch(() => {});
  }
}

interface Pending {
  resolve(answer: Answer): void;
  reject(error: Error): void;
}

/** One WebSocket to `/events/ws` and the frames waiting for their answers on it. */
class IngestSocket {
  readonly #ws: WebSocket;
  readonly #socket: Duplex | undefined;
  #corked = false;
  readonly #pending = new Map<string, Pending>();
  #seq = 0;
  #down: Error | undefined;

  private constructor(ws: WebSocket, socket: Duplex | undefined) {
    this.#ws = ws;
    this.#socket = socket;
    ws.on("message", (raw, isBinary) => this.#frame(isBinary ? Buffer.from(raw as Buffer) : raw.toString()));
    ws.on("error", (error) => {
      this.#down ??= new TransportError("network", `WebSocket ingest failed: ${error.message}`, {
        cause: error,
      });
    });
    ws.on("close", (code, reason) => {
      const error =
        this.#down ??
        new TransportError(
          "closed",
          `the broker closed the WebSocket ingest (${code}${reason.length ? ` ${reason}` : ""}) before answering`,
        );
      this.#down = error;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    });
  }

  static open(options: WsPublisherOptions): Promise<IngestSocket> {
    const url = new URL(`${options.url.replace(/\/$/, "")}${WS_INGEST_PATH}`);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url, {
      headers: { ...options.headers },
      handshakeTimeout: options.connectTimeoutMs,
      perMessageDeflate: false,
    });
    let socket: Duplex | undefined;
    ws.once("upgrade", (response) => {
      socket = response.socket;
    });
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new IngestSocket(ws, socket)));
      ws.once("unexpected-response", (request, response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", () => {});
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          const problem = problemFromBody(status, Buffer.concat(chunks), response.statusMessage);
          request.destroy();
          ws.terminate();
          // 5xx and 429 are transient (a broker shutting down): the send retries; the rest means HTTP.
          reject(
            status >= 500 || status === 429 || status === 408
              ? new TransportError(
                  String(status),
                  `WebSocket ingest refused (${status}): ${problem.detail ?? ""}`,
                )
              : new UpgradeRefused(status, problem.detail ?? problem.title ?? ""),
          );
        });
      });
      ws.once("error", (error) =>
        reject(
          new TransportError("network", `WebSocket ingest to ${url.host} failed: ${error.message}`, {
            cause: error,
          }),
        ),
      );
    });
  }

  get open(): boolean {
    return this.#down === undefined && this.#ws.readyState === WebSocket.OPEN;
  }

  roundTrip(send: WsSend): Promise<Answer> {
    if (!this.open) return Promise.reject(this.#down ?? new TransportError("closed", "WebSocket closed"));
    const id = (++this.#seq).toString(36);
    return new Promise<Answer>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        send.signal?.removeEventListener("abort", onAbort);
        this.#pending.delete(id);
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new TransportError("TIMEOUT", `no answer on the WebSocket ingest within ${send.timeoutMs} ms`),
        );
        // A connection that leaves a frame unanswered that long is suspect (half-open): the retry,
        // and every other send on it, goes on a new one.
        this.#down ??= new TransportError("TIMEOUT", "the WebSocket ingest stopped answering");
        this.#ws.terminate();
      }, send.timeoutMs);
      const onAbort = () => {
        done();
        reject(new TransportError("ABORTED", "send aborted"));
      };
      if (send.signal?.aborted) return onAbort();
      send.signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (answer) => {
          done();
          resolve(answer);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
      // Sends started in one tick leave in one write (cork until the tick's end), not a syscall each.
      if (!this.#corked && this.#socket) {
        this.#corked = true;
        this.#socket.cork();
        process.nextTick(() => {
          this.#corked = false;
          this.#socket!.uncork();
        });
      }
      // The id first: the broker reads it without parsing an oversized frame.
      this.#ws.send(`{"id":"${id}",${send.batch ? '"events"' : '"event"'}:${send.json}}`);
    });
  }

  #frame(raw: string | Buffer): void {
    let frame: WsPublishServerFrame;
    try {
      frame = JSON.parse(raw.toString()) as WsPublishServerFrame;
    } catch {
      return; // not ours to answer: the frame's send times out and retries
    }
    if (typeof frame?.id !== "string") return;
    const pending = this.#pending.get(frame.id);
    if (!pending) return;
    if ("results" in frame && Array.isArray(frame.results)) pending.resolve({ results: frame.results });
    else if ("problem" in frame) {
      const problem = problemFromBody(frame.problem?.status ?? 0, JSON.stringify(frame.problem ?? {}));
      pending.resolve({ problem: problem as ProblemDetails });
    }
  }

  close(): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.close(1000, "publisher closed");
    else this.#ws.terminate();
  }
}
