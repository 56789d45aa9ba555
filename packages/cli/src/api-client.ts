// A small client for the HTTP API of `herald serve` (see DESIGN.md), on node's fetch.
// It knows the routes and bodies; it does not know about terminals or exit codes.

/** A CloudEvent in the JSON event format: attributes and extensions as top-level members. */
export type JsonEvent = Record<string, unknown>;

export interface AppendResult {
  readonly id: string;
  readonly source: string;
  readonly position: number;
  readonly stream: string;
  readonly version: number;
  readonly duplicate: boolean;
}

export interface LogEntry {
  readonly position: number;
  readonly stream: string;
  readonly version: number;
  /** When the log committed it (ms since the epoch), if the server reports it. */
  readonly recordedAt?: number;
  readonly event: JsonEvent;
}

export interface ReadPage {
  readonly events: readonly LogEntry[];
  readonly next: number;
}

export interface ReadEventsOptions {
  readonly after?: number;
  readonly limit?: number;
  /** A CESQL expression, evaluated by the server. */
  readonly filter?: string;
  /** Include Herald's own `$` streams. */
  readonly system?: boolean;
}

export interface PulledMessage {
  readonly ackId: string;
  readonly deliveryCount: number;
  readonly position: number;
  readonly stream: string;
  readonly event: JsonEvent;
}

export type Subscription = Record<string, unknown> & { readonly id: string };

/** A dead letter as `GET /subscriptions/{id}/dead-letters` lists it: the event and why it died. */
export interface DeadLetter {
  readonly version: number;
  readonly position: number;
  readonly stream: string;
  readonly reason: string;
  readonly attempts: number;
  readonly lastStatus?: number;
  readonly lastError?: string;
  readonly firstAttemptAt?: string;
  readonly lastAttemptAt?: string;
  readonly redriven?: boolean;
  readonly event: JsonEvent;
}

export interface RedriveRequest {
  readonly from?: number;
  readonly to?: number;
  readonly filters?: readonly Record<string, unknown>[];
  readonly dryRun?: boolean;
  readonly includeRedriven?: boolean;
}

export interface ProblemFieldError {
  readonly field: string;
  readonly reason: string;
}

/** An RFC 9457 problem answer (or what we could make of a non-problem error answer). */
export interface Problem {
  readonly type?: string;
  readonly title?: string;
  readonly status: number;
  readonly detail?: string;
  readonly errors?: readonly ProblemFieldError[];
  readonly [member: string]: unknown;
}

/** The server answered with an error status. */
export class ProblemError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
    this.name = "ProblemError";
    this.status = problem.status;
    this.problem = problem;
  }
}

/** The request never got an answer: refused, unknown host, reset, timed out. */
export class ConnectionError extends Error {
  readonly url: string;
  constructor(url: string, cause: unknown) {
    super(`cannot reach ${url}: ${describeNetworkError(cause)}`, { cause });
    this.name = "ConnectionError";
    this.url = url;
  }
}

/** The caller's signal ended the request (Ctrl-C). */
export class InterruptedError extends Error {
  constructor() {
    super("interrupted");
    this.name = "InterruptedError";
  }
}

/** The server answered 2xx with a body that is not what the API promises. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

export interface ApiClientOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly apiKey?: string;
  /** Per-request timeout (long polls add their wait on top). Default 30 s. */
  readonly timeoutMs?: number;
}

const BATCH_TYPE = "application/cloudevents-batch+json";
const STRUCTURED_TYPE = "application/cloudevents+json";

export class HeraldApi {
  readonly baseUrl: string;
  readonly #apiKey: string | undefined;
  readonly #timeoutMs: number;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.url.replace(/\/+$/, "");
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Appends events as one atomic batch; a lone event goes in structured mode unless `batch` is set. */
  async publish(
    events: readonly JsonEvent[],
    options: { stream?: string; expectedVersion?: string; batch?: boolean } = {},
  ): Promise<AppendResult[]> {
    const path = options.stream === undefined ? "/events" : `/streams/${encodeURIComponent(options.stream)}`;
    const single = events.length === 1 && options.batch !== true;
    const headers: Record<string, string> = { "content-type": single ? STRUCTURED_TYPE : BATCH_TYPE };
    if (options.expectedVersion !== undefined) headers["herald-expected-version"] = options.expectedVersion;
    const body = JSON.stringify(single ? events[0] : events);
    const answer = await this.#request("POST", path, { headers, body });
    return expectArray<AppendResult>(answer, "results", "POST " + path);
  }

  async readEvents(options: ReadEventsOptions = {}): Promise<ReadPage> {
    const query = new URLSearchParams();
    if (options.after !== undefined) query.set("after", String(options.after));
    if (options.limit !== undefined) query.set("limit", String(options.limit));
    if (options.filter !== undefined) query.set("filter", options.filter);
    if (options.system) query.set("system", "true");
    const answer = await this.#request("GET", `/events?${query}`);
    const events = expectArray<LogEntry>(answer, "events", "GET /events");
    const next = (answer as { next?: unknown }).next;
    if (typeof next !== "number") throw new ProtocolError("GET /events answered without a numeric `next`");
    return { events, next };
  }

  async listSubscriptions(): Promise<Subscription[]> {
    const answer = await this.#request("GET", "/subscriptions");
    // The Subscriptions API answers a bare array; accept a wrapped one too.
    if (Array.isArray(answer)) return answer as Subscription[];
    return expectArray<Subscription>(answer, "subscriptions", "GET /subscriptions");
  }

  async getSubscription(id: string): Promise<Subscription> {
    return (await this.#request("GET", subPath(id))) as Subscription;
  }

  async createSubscription(resource: Record<string, unknown>): Promise<Subscription> {
    return (await this.#request("POST", "/subscriptions", { json: resource })) as Subscription;
  }

  async deleteSubscription(id: string): Promise<void> {
    await this.#request("DELETE", subPath(id));
  }

  async subscriptionStats(id: string): Promise<Record<string, unknown>> {
    return (await this.#request("GET", `${subPath(id)}/stats`)) as Record<string, unknown>;
  }

  /** One page of a subscription's dead letters, oldest first; pass `next` as `after` for the next page. */
  async deadLetters(
    id: string,
    options: { after?: number; limit?: number } = {},
  ): Promise<{ deadLetters: DeadLetter[]; next: number }> {
    const query = new URLSearchParams();
    if (options.after !== undefined) query.set("after", String(options.after));
    if (options.limit !== undefined) query.set("limit", String(options.limit));
    const what = `GET ${subPath(id)}/dead-letters`;
    const answer = await this.#request("GET", `${subPath(id)}/dead-letters?${query}`);
    const deadLetters = expectArray<DeadLetter>(answer, "deadLetters", what);
    const next = (answer as { next?: unknown }).next;
    if (typeof next !== "number") throw new ProtocolError(`${what} answered without a numeric \`next\``);
    return { deadLetters, next };
  }

  /** Queues matching dead letters for redelivery (or only counts them with `dryRun`). */
  async redrive(id: string, request: RedriveRequest): Promise<{ count: number; dryRun: boolean }> {
    const answer = await this.#request("POST", `${subPath(id)}/dead-letters/redrive`, { json: request });
    const count = (answer as { count?: unknown } | undefined)?.count;
    if (typeof count !== "number") throw new ProtocolError("redrive answered without a numeric `count`");
    return { count, dryRun: request.dryRun === true };
  }

  /** Long-polls for messages; `signal` ends the wait early (messages handed out then are redelivered later). */
  async pull(
    id: string,
    options: { max: number; waitMs: number; signal?: AbortSignal },
  ): Promise<PulledMessage[]> {
    const answer = await this.#request("POST", `${subPath(id)}/pull`, {
      json: { max: options.max, waitMs: options.waitMs },
      extraTimeoutMs: options.waitMs,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    return expectArray<PulledMessage>(answer, "messages", `POST ${subPath(id)}/pull`);
  }

  async ack(id: string, ackIds: readonly string[]): Promise<void> {
    await this.#request("POST", `${subPath(id)}/ack`, { json: { ackIds } });
  }

  async #request(
    method: string,
    path: string,
    options: {
      headers?: Record<string, string>;
      body?: string;
      json?: unknown;
      extraTimeoutMs?: number;
      signal?: AbortSignal;
    } = {},
  ): Promise<unknown> {
    const url = this.baseUrl + path;
    const headers: Record<string, string> = { accept: "application/json", ...options.headers };
    if (this.#apiKey !== undefined) headers.authorization = `Bearer ${this.#apiKey}`;
    let body = options.body;
    if (options.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.json);
    }
    const timeout = AbortSignal.timeout(this.#timeoutMs + (options.extraTimeoutMs ?? 0));
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body ?? null,
        signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
      });
    } catch (error) {
      if (options.signal?.aborted) throw new InterruptedError();
      throw new ConnectionError(this.baseUrl, error);
    }
    const text = await response.text();
    if (!response.ok) throw new ProblemError(toProblem(response, text));
    if (text.length === 0) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ProtocolError(`${method} ${path} answered ${response.status} with a body that is not JSON`);
    }
  }
}

function subPath(id: string): string {
  return `/subscriptions/${encodeURIComponent(id)}`;
}

function expectArray<T>(answer: unknown, member: string, what: string): T[] {
  const value = (answer as Record<string, unknown> | undefined)?.[member];
  if (!Array.isArray(value)) throw new ProtocolError(`${what} answered without a \`${member}\` array`);
  return value as T[];
}

function toProblem(response: Response, text: string): Problem {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
      return { ...(parsed as Record<string, unknown>), status: response.status } as Problem;
    }
  } catch {
    // not JSON: fall through to a problem made from the status line
  }
  const detail = text.trim().slice(0, 500);
  return {
    status: response.status,
    title: response.statusText || `HTTP ${response.status}`,
    ...(detail.length > 0 ? { detail } : {}),
  };
}

/** Finds the useful part of fetch's "fetch failed" (the cause's code and message). */
export function describeNetworkError(error: unknown): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return "timed out waiting for an answer";
  }
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") {
      return current.message.includes(code) ? current.message : `${code} ${current.message}`.trim();
    }
    if (current.cause === undefined) return current.message;
    current = current.cause;
  }
  return String(current);
}
