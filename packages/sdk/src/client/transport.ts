// HTTP/1.1 client over node:http(s) with a keep-alive connection pool. Node's fetch on Node 20
// cannot take an http.Agent, and undici v8 needs Node 22, so the pool is a plain http.Agent.
import http from "node:http";
import https from "node:https";
import { TransportError } from "../errors.js";

export interface TransportOptions {
  /** Sockets kept per host (default 64). */
  readonly maxSockets?: number;
  /** Headers sent on every request (e.g. Authorization). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface TransportRequest {
  readonly method: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** Whole request (connect to end of body). */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface TransportResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export class HttpTransport {
  readonly baseUrl: URL;
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #hostname: string;
  readonly #basePath: string;

  constructor(baseUrl: string | URL, options: TransportOptions = {}) {
    this.baseUrl = new URL(baseUrl);
    // IPv6 literals come bracketed in URL.hostname; http.request wants them bare.
    this.#hostname = this.baseUrl.hostname.replace(/^\[(.*)\]$/, "$1");
    // A base URL with a path (a broker behind a prefix) keeps it; paths given to request() start with "/".
    this.#basePath = this.baseUrl.pathname.replace(/\/$/, "");
    const secure = this.baseUrl.protocol === "https:";
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.maxSockets ?? 64,
      scheduling: "lifo" as const,
    };
    this.#agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.#request = secure ? https.request : http.request;
    this.#headers = options.headers ?? {};
  }

  /** Resolves with any HTTP answer; rejects with TransportError only when there is no answer. */
  request(req: TransportRequest): Promise<TransportResponse> {
    // Plain options instead of a URL object per request: this runs once per event sent.
    const path = this.#basePath + req.path;
    return new Promise<TransportResponse>((resolve, reject) => {
      let settled = false;
      const fail = (code: string, message: string, cause?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.signal?.removeEventListener("abort", onAbort);
        outgoing.destroy();
        reject(new TransportError(code, message, { cause, url: this.baseUrl.origin + path }));
      };
      const onAbort = (): void => fail("ABORTED", `${req.method} ${req.path} aborted`);
      const outgoing = this.#request(
        {
          protocol: this.baseUrl.protocol,
          hostname: this.#hostname,
          port: this.baseUrl.port,
          path,
          method: req.method,
          agent: this.#agent,
          headers: req.headers ? { ...this.#headers, ...req.headers } : this.#headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", (err) => fail("RESPONSE_ERROR", err.message, err));
          res.on("end", () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            req.signal?.removeEventListener("abort", onAbort);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
          });
        },
      );
      const timer = setTimeout(
        () => fail("TIMEOUT", `${req.method} ${req.path} timed out after ${req.timeoutMs} ms`),
        req.timeoutMs,
      );
      outgoing.on("error", (err: NodeJS.ErrnoException) => fail(err.code ?? "NETWORK", err.message, err));
      if (req.signal) {
        if (req.signal.aborted) return onAbort();
        req.signal.addEventListener("abort", onAbort, { once: true });
      }
      outgoing.end(req.body);
    });
  }

  /** Closes pooled sockets. */
  close(): void {
    this.#agent.destroy();
  }
}

/** Parses a JSON body, or undefined when it is not JSON. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}
