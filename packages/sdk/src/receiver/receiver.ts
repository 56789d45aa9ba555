// Receiver: the push side. An HTTP server that accepts CloudEvents in any content mode, verifies the
// Standard Webhooks signature when a secret is set, runs the handler, and answers so the broker knows
// what to do:
//   2xx  done (200 with the reply event in binary mode when the handler returned one, else 204)
//   503  retry (RetryableError / timeout / stopping; Retry-After when a delay is known)
//   500  retry (any other exception)
//   4xx  do not retry — dead-letter (400 malformed, 401 bad signature, 413 too large, 415 media type,
//        422 invalid event or NonRetryableError)
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  type CloudEvent,
  CloudEventDecodeError,
  CloudEventValidationError,
  decodeHttp,
  encodeHttp,
} from "@herald/cloudevents";
import { CONTENT_TYPE_HEADER, PROBLEM_JSON_MEDIA_TYPE, RETRY_AFTER_HEADER } from "@herald/protocol";
import {
  type ForeignProblem,
  isRetryable,
  RetryableError,
  SignatureVerificationError,
  toError,
} from "../errors.js";
import type { Handler } from "../handler.js";
import { runHandler } from "../consumer/run-handler.js";
import type { HeraldClient } from "../client/client.js";
import { SendFailedError } from "../client/send-result.js";
import { verifyWebhook } from "./webhook-signature.js";

export interface ReceiverOptions {
  /** A handler, or a Router (anything with `handle`). */
  readonly handler: Handler | { readonly handle: Handler };
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port; see `url` after start()). */
  readonly port?: number;
  /** The path events are POSTed to (default "/"). */
  readonly path?: string;
  /** Standard Webhooks secret(s); when set, unsigned or badly signed requests get 401. Several = rotation. */
  readonly secret?: string | readonly string[];
  /** Accepted clock skew of webhook-timestamp (default 300 s). */
  readonly toleranceSeconds?: number;
  /** Largest accepted body (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Publishes events handlers emit with ctx.emit (the reply goes back in the answer instead). */
  readonly client?: HeraldClient;
  /** stop() waits this long for running handlers before aborting their signal (default 30 s). */
  readonly drainMs?: number;
  readonly onError?: (error: Error, event?: CloudEvent) => void;
}

export class Receiver {
  readonly #options: ReceiverOptions;
  readonly #handler: Handler;
  readonly #secrets: readonly string[];
  readonly #path: string;
  readonly #handlers = new AbortController();
  readonly #running = new Set<Promise<void>>();
  #server: http.Server | undefined;
  #stopping = false;
  #url: string | undefined;

  constructor(options: ReceiverOptions) {
    this.#options = options;
    const h = options.handler;
    this.#handler = typeof h === "function" ? h : (event, ctx) => h.handle(event, ctx);
    this.#secrets =
      options.secret === undefined
        ? []
        : typeof options.secret === "string"
          ? [options.secret]
          : options.secret;
    this.#path = options.path ?? "/";
  }

  /** The URL to use as a subscription's sink (after start()). */
  get url(): string {
    if (!this.#url) throw new Error("Receiver not started");
    return this.#url;
  }

  async start(): Promise<{ url: string; port: number }> {
    if (this.#server) return { url: this.url, port: Number(new URL(this.url).port) };
    const server = http.createServer((req, res) => {
      const done = this.#serve(req, res).catch((error: unknown) => {
        this.#options.onError?.(toError(error));
        if (!res.headersSent) answerProblem(res, 500, "Internal error", toError(error).message);
      });
      const tracked = done.finally(() => this.#running.delete(tracked));
      this.#running.add(tracked);
    });
    server.keepAliveTimeout = 5_000;
    this.#server = server;
    const host = this.#options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#options.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const shownHost = host.includes(":") ? `[${host}]` : host;
    this.#url = `http://${shownHost}:${port}${this.#path}`;
    return { url: this.#url, port };
  }

  /**
   * Graceful stop: stop accepting connections, answer 503 to new requests on open ones, let running
   * handlers finish (their signal aborts after drainMs), then close every socket.
   */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server || this.#stopping) return;
    this.#stopping = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const drain = setTimeout(
      () => this.#handlers.abort(new Error("receiver stopping")),
      this.#options.drainMs ?? 30_000,
    );
    try {
      await Promise.all(this.#running);
    } finally {
      clearTimeout(drain);
    }
    server.closeAllConnections();
    await closed;
  }

  async #serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (this.#stopping) {
      res.setHeader("connection", "close");
      return answerProblem(res, 503, "Receiver stopping", "retry later", { [RETRY_AFTER_HEADER]: "1" });
    }
    const url = new URL(req.url ?? "/", "http://receiver");
    if (url.pathname !== this.#path)
      return answerProblem(res, 404, "Not found", `events are accepted on ${this.#path}`);
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return answerProblem(res, 405, "Method not allowed", "POST a CloudEvent");
    }
    const body = await readBody(req, this.#options.maxBodyBytes ?? 1024 * 1024);
    if (body === undefined)
      return answerProblem(res, 413, "Payload too large", "the body exceeds the receiver's limit");
    if (this.#secrets.length > 0) {
      try {
        verifyWebhook(this.#secrets, req.headers, body, {
          toleranceSeconds: this.#options.toleranceSeconds ?? 300,
        });
      } catch (error) {
        if (error instanceof SignatureVerificationError)
          return answerProblem(res, 401, "Bad signature", error.message, { reason: error.reason });
        throw error;
      }
    }
    let events: CloudEvent[];
    try {
      events = decodeHttp({ headers: req.headers, body });
    } catch (error) {
      if (error instanceof CloudEventValidationError) {
        return answerProblem(res, 422, "Invalid CloudEvent", error.message, {
          errors: error.issues.map((i) => ({ attribute: i.attribute, reason: i.reason })),
        });
      }
      if (error instanceof CloudEventDecodeError) {
        const status = error.reason === "unsupported-media-type" ? 415 : 400;
        return answerProblem(
          res,
          status,
          status === 415 ? "Unsupported media type" : "Malformed CloudEvent",
          error.message,
        );
      }
      throw error;
    }
    let reply: CloudEvent | undefined;
    // A batch is handled in order; the first failure decides the answer (the broker pushes one event at a time).
    for (const event of events) {
      const outcome = await runHandler(this.#handler, event, {
        // The broker does not tell a push sink the delivery count; it applies maxDeliveries itself.
        attempt: 1,
        signal: this.#handlers.signal,
        transport: "push",
        publishReply: false,
        publish: this.#options.client
          ? async (out) => {
              const result = await this.#options.client!.sendBatch(out);
              if (!result.ok) throw new SendFailedError(result);
            }
          : undefined,
      });
      if (!outcome.ok) {
        this.#options.onError?.(outcome.error, event);
        return answerFailure(res, outcome.error);
      }
      reply = outcome.reply ?? reply;
    }
    if (!reply || events.length !== 1) {
      res.writeHead(204).end();
      return;
    }
    const encoded = encodeHttp(reply, "binary");
    res.writeHead(200, encoded.headers).end(encoded.body);
  }
}

function answerFailure(res: http.ServerResponse, error: Error): void {
  if (!isRetryable(error)) {
    const status = "status" in error && typeof error.status === "number" ? error.status : 422;
    const extra = "issues" in error ? { errors: error.issues } : {};
    answerProblem(res, status, error.name, error.message, extra);
  } else if (error instanceof RetryableError) {
    const headers: Record<string, string> = {};
    if (error.delayMs !== undefined)
      headers[RETRY_AFTER_HEADER] = String(Math.max(1, Math.ceil(error.delayMs / 1000)));
    answerProblem(res, 503, error.name, error.message, {}, headers);
  } else {
    answerProblem(res, 500, error.name, error.message);
  }
}

function answerProblem(
  res: http.ServerResponse,
  status: number,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  // A Receiver is not Herald: its problems have no catalog code.
  const problem: ForeignProblem = { type: "about:blank", title, status, detail, ...extra };
  res
    .writeHead(status, { [CONTENT_TYPE_HEADER]: PROBLEM_JSON_MEDIA_TYPE, ...headers })
    .end(JSON.stringify(problem));
}

/** The body, or undefined when it exceeds `limit` (the rest is drained, not buffered). */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      req.on("end", () => resolve(undefined));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooBig = true;
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(tooBig ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
