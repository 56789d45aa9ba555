// Consumes a subscription over a WebSocket (`/subscriptions/{id}/ws`): StreamMessage frames in,
// `{ "ack": [...] }` / `{ "nack": [...], "delayMs" }` commands out on the same socket. The API key
// travels as a bearer header in the handshake, never in the URL.
import { problemFromBody } from "../client/problem.js";
import {
  type StreamMessage,
  STREAM_QUERY,
  WS_PING_MS,
  type WsCommand,
  type WsServerFrame,
} from "@herald/protocol";
import WebSocket from "ws";
import { HeraldApiError, TransportError, toError } from "../errors.js";
import {
  type Connection,
  type ConnectionEvents,
  type ConnectOptions,
  ConsumerRejectedError,
  isPermanentStatus,
  StreamConsumer,
  type StreamEndpoint,
  toPulledMessage,
} from "./stream-consumer.js";

export class WsConsumer extends StreamConsumer {
  readonly transport = "ws" as const;
  // Two and a half missed pings.
  protected readonly defaultHeartbeatTimeoutMs = 2.5 * WS_PING_MS;

  protected connect(options: ConnectOptions, events: ConnectionEvents): Connection {
    return new WsConnection(this.endpoint, options, events);
  }
}

/** Ack ids kept to match a late `{ "unknown": [...] }` answer against (oldest dropped first). */
const RECENT_ACKS = 4096;

class WsConnection implements Connection {
  readonly opened: Promise<void>;
  readonly ended: Promise<Error | undefined>;
  readonly #ws: WebSocket;
  readonly #events: ConnectionEvents;
  readonly #recentAcks = new Set<string>();
  #resolveEnded!: (reason: Error | undefined) => void;
  #reason: Error | undefined;
  #idle: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(endpoint: StreamEndpoint, options: ConnectOptions, events: ConnectionEvents) {
    this.#events = events;
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    const url = new URL(`${endpoint.url}/subscriptions/${encodeURIComponent(options.subscription)}/ws`);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set(STREAM_QUERY.max, String(options.credit));
    const ws = new WebSocket(url, {
      headers: { ...endpoint.headers },
      handshakeTimeout: options.connectTimeoutMs,
      perMessageDeflate: false,
    });
    this.#ws = ws;
    this.opened = new Promise<void>((resolve, reject) => {
      ws.once("open", () => {
        this.#armIdle(options.heartbeatTimeoutMs);
        resolve();
      });
      // A refused handshake (401, 403, 404, 409, 503…): read the problem body, then drop the socket.
      ws.once("unexpected-response", (request, response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", () => {});
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          const problem = problemFromBody(
            status,
            Buffer.concat(chunks).toString("utf8"),
            response.statusMessage,
          );
          reject(
            isPermanentStatus(status)
              ? new ConsumerRejectedError(options.subscription, "ws", status, problem)
              : new HeraldApiError(status, problem),
          );
          request.destroy();
          ws.terminate();
        });
      });
      ws.once("error", (error) => {
        reject(
          new TransportError("network", `WebSocket to ${url.host} failed: ${error.message}`, {
            cause: error,
          }),
        );
      });
    });
    this.opened.catch((error: unknown) => this.#end(toError(error)));
    // Errors after the handshake also close the socket: the close handler reports them.
    ws.on("error", (error) => {
      this.#reason ??= new TransportError("network", `WebSocket failed: ${error.message}`, { cause: error });
    });
    ws.on("ping", () => this.#armIdle(options.heartbeatTimeoutMs));
    ws.on("message", (raw, isBinary) => {
      this.#armIdle(options.heartbeatTimeoutMs);
      const text = isBinary ? Buffer.from(raw as Buffer).toString("utf8") : raw.toString();
      this.#frame(text);
    });
    ws.on("close", (code, reason) => {
      if (this.#idle) clearTimeout(this.#idle);
      this.#end(
        this.#reason ??
          new TransportError(
            "closed",
            `the broker closed the WebSocket (${code}${reason.length ? ` ${reason}` : ""})`,
          ),
      );
    });
  }

  #frame(text: string): void {
    let frame: WsServerFrame;
    try {
      frame = JSON.parse(text) as WsServerFrame;
    } catch {
      this.#events.error(new Error(`unreadable WebSocket frame: ${text.slice(0, 80)}`));
      return;
    }
    if (typeof frame !== "object" || frame === null) {
      this.#events.error(new Error(`unreadable WebSocket frame: ${text.slice(0, 80)}`));
    } else if ("ackId" in frame) {
      try {
        this.#events.message(toPulledMessage(frame satisfies StreamMessage));
      } catch (error) {
        this.#events.error(new Error(`unreadable message frame: ${toError(error).message}`));
      }
    } else if ("unknown" in frame) {
      // Expired or already settled: the broker redelivers (or redelivered) those.
      const refused = frame.unknown.filter((id) => this.#recentAcks.delete(id)).length;
      if (refused > 0) this.#events.acksRefused(refused);
      this.#events.error(new Error(`the broker did not hold ${frame.unknown.length} ack id(s) any more`));
    } else if ("error" in frame) {
      this.#events.error(new Error(`the broker refused a command: ${frame.error}`));
    }
  }

  #armIdle(ms: number): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      this.#reason ??= new TransportError("timeout", `no frame nor ping on the WebSocket for ${ms} ms`);
      this.#ws.terminate();
    }, ms);
  }

  #end(reason: Error | undefined): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#resolveEnded(this.#closed ? undefined : reason);
  }

  async ack(ackIds: readonly string[]): Promise<number> {
    // Remembered before sending: the broker's `unknown` answer may beat the send callback.
    for (const id of ackIds) {
      this.#recentAcks.add(id);
      if (this.#recentAcks.size > RECENT_ACKS)
        this.#recentAcks.delete(this.#recentAcks.values().next().value!);
    }
    try {
      await this.#send({ ack: ackIds });
    } catch (error) {
      for (const id of ackIds) this.#recentAcks.delete(id);
      throw error;
    }
    return ackIds.length;
  }

  async nack(ackIds: readonly string[], delayMs: number): Promise<void> {
    await this.#send({ nack: ackIds, delayMs: Math.max(0, Math.round(delayMs)) });
  }

  #send(command: WsCommand): Promise<void> {
    if (this.#ws.readyState !== WebSocket.OPEN) {
      // The broker has already taken back what this connection held.
      return Promise.reject(new TransportError("closed", "the WebSocket is closed: the broker redelivers"));
    }
    return new Promise((resolve, reject) =>
      this.#ws.send(JSON.stringify(command), (error) =>
        error ? reject(new TransportError("network", `WebSocket send failed: ${error.message}`)) : resolve(),
      ),
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.close(1000, "consumer stopped");
    else this.#ws.terminate();
    this.#resolveEnded(undefined);
  }
}
