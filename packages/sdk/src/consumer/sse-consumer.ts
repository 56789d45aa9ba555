// Consumes a subscription over Server-Sent Events: `GET /subscriptions/{id}/sse?frame=message`
// streams StreamMessage frames (their `id:` is the ackId); acks and nacks are POSTs to /ack and /nack.
import { problemFromBody } from "../client/problem.js";
import {
  ACCEPT_HEADER,
  CONTENT_TYPE_HEADER,
  EVENT_STREAM_MEDIA_TYPE,
  JSON_MEDIA_TYPE,
  SSE_EVENT,
  SSE_HEARTBEAT_MS,
  STREAM_QUERY,
} from "@herald/protocol";
import { createParser } from "eventsource-parser";
import { sleep } from "../backoff.js";
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

export class SseConsumer extends StreamConsumer {
  readonly transport = "sse" as const;
  // Three missed heartbeats.
  protected readonly defaultHeartbeatTimeoutMs = 3 * SSE_HEARTBEAT_MS;

  protected connect(options: ConnectOptions, events: ConnectionEvents): Connection {
    return new SseConnection(this.endpoint, options, events);
  }
}

const ACK_TIMEOUT_MS = 10_000;

class SseConnection implements Connection {
  readonly opened: Promise<void>;
  readonly ended: Promise<Error | undefined>;
  readonly #endpoint: StreamEndpoint;
  readonly #path: string;
  readonly #controller = new AbortController();
  #resolveEnded!: (reason: Error | undefined) => void;
  #idle: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(endpoint: StreamEndpoint, options: ConnectOptions, events: ConnectionEvents) {
    this.#endpoint = endpoint;
    this.#path = `/subscriptions/${encodeURIComponent(options.subscription)}`;
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    const url = new URL(`${endpoint.url}${this.#path}/sse`);
    url.searchParams.set(STREAM_QUERY.frame, "message");
    url.searchParams.set(STREAM_QUERY.max, String(options.credit));
    this.opened = this.#open(url, options, events);
    this.opened.catch((error: unknown) => this.#end(toError(error)));
  }

  async #open(url: URL, options: ConnectOptions, events: ConnectionEvents): Promise<void> {
    const timer = setTimeout(() => this.#controller.abort(), options.connectTimeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { ...this.#endpoint.headers, [ACCEPT_HEADER]: EVENT_STREAM_MEDIA_TYPE },
        signal: this.#controller.signal,
      });
    } catch (error) {
      const timedOut = this.#controller.signal.aborted && !this.#closed;
      throw new TransportError(
        timedOut ? "timeout" : "network",
        timedOut
          ? `no answer to the SSE request within ${options.connectTimeoutMs} ms`
          : `SSE connection to ${url.host} failed: ${toError(error).message}`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
    if (response.status !== 200 || !response.body) {
      const body = await response.text().catch(() => "");
      const problem = problemFromBody(response.status, body, response.statusText);
      if (isPermanentStatus(response.status)) {
        throw new ConsumerRejectedError(options.subscription, "sse", response.status, problem);
      }
      throw new HeraldApiError(response.status, problem);
    }
    void this.#read(response.body, options, events);
  }

  async #read(
    body: ReadableStream<Uint8Array>,
    options: ConnectOptions,
    events: ConnectionEvents,
  ): Promise<void> {
    const parser = createParser({
      onEvent: (frame) => {
        if (frame.event !== SSE_EVENT.message) return;
        try {
          events.message(toPulledMessage(JSON.parse(frame.data)));
        } catch (error) {
          events.error(new Error(`unreadable SSE frame ${frame.id ?? ""}: ${toError(error).message}`));
        }
      },
    });
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        // Every chunk counts as a sign of life, the `: ping` heartbeat comments included.
        this.#armIdle(options.heartbeatTimeoutMs);
        const { value, done } = await reader.read();
        if (done) {
          this.#end(new TransportError("closed", "the broker ended the SSE stream"));
          return;
        }
        parser.feed(value);
      }
    } catch (error) {
      this.#end(
        new TransportError("network", `SSE stream failed: ${toError(error).message}`, { cause: error }),
      );
    } finally {
      if (this.#idle) clearTimeout(this.#idle);
    }
  }

  #armIdle(ms: number): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      this.#end(new TransportError("timeout", `no data nor heartbeat on the SSE stream for ${ms} ms`));
      this.#controller.abort();
    }, ms);
  }

  #end(reason: Error | undefined): void {
    this.#resolveEnded(this.#closed ? undefined : reason);
  }

  async ack(ackIds: readonly string[]): Promise<number> {
    const answer = (await this.#post("ack", { ackIds })) as { acked?: unknown } | undefined;
    return typeof answer?.acked === "number" ? answer.acked : 0;
  }

  async nack(ackIds: readonly string[], delayMs: number): Promise<void> {
    await this.#post("nack", { ackIds, delayMs: Math.max(0, Math.round(delayMs)) });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#controller.abort();
    this.#resolveEnded(undefined);
  }

  /** Three attempts on network failures and 408/429/5xx; a refusal throws at once. */
  async #post(action: "ack" | "nack", body: unknown): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      let error: Error;
      try {
        const response = await fetch(`${this.#endpoint.url}${this.#path}/${action}`, {
          method: "POST",
          headers: { ...this.#endpoint.headers, [CONTENT_TYPE_HEADER]: JSON_MEDIA_TYPE },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(ACK_TIMEOUT_MS),
        });
        const text = await response.text();
        if (response.ok) return text ? JSON.parse(text) : undefined;
        error = new HeraldApiError(
          response.status,
          problemFromBody(response.status, text, response.statusText),
        );
        if (isPermanentStatus(response.status)) throw error;
      } catch (thrown) {
        if (thrown instanceof HeraldApiError && isPermanentStatus(thrown.status)) throw thrown;
        error = new TransportError("network", `${action} failed: ${toError(thrown).message}`, {
          cause: thrown,
        });
      }
      if (attempt >= 3) throw error;
      await sleep(50 * 2 ** attempt);
    }
  }
}
