// The synchronous sources: HTTP routes and WebSocket paths on one node:http server. A request runs
//   route → authenticate (401/403) → read and validate input (400) → authorize (403) → handler →
//   validate the output (500 when the handler breaks its own schema) → answer
// Every refusal is problem+json with a catalog code. WebSocket: the upgrade is authenticated; each
// message `{ "id"?, "data" }` gets `{ "id", "data" }` (the handler's reply) or `{ "id", "problem" }`.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { CONTENT_TYPE_HEADER, PROBLEM_JSON_MEDIA_TYPE, RETRY_AFTER_HEADER } from "@herald/protocol";
import { type HeraldClient, NonRetryableError, RetryableError, runInRequestSpan } from "@herald/sdk";
import { type WebSocket, WebSocketServer } from "ws";
import { ANONYMOUS, type Authenticator } from "../auth.js";
import type {
  HttpAnswer,
  HttpDefinition,
  HttpInvalidHook,
  InputError,
  Principal,
  SourceContext,
  WsDefinition,
  WsInvalidHook,
} from "../definition.js";
import type { Outcomes } from "../outcomes.js";
import { problemBody, SourceProblem } from "../problem.js";
import { compileSchema, type Validator } from "../schema.js";
import { pathMatcher } from "../trigger.js";

export interface HttpSourceOptions {
  readonly http: readonly HttpDefinition[];
  readonly ws: readonly WsDefinition[];
  readonly authenticator: Authenticator;
  readonly client: HeraldClient | undefined;
  readonly outcomes: Outcomes;
  /** Extra GET routes answered as JSON (the generated documents). */
  readonly documents: Readonly<Record<string, () => unknown>>;
  readonly host?: string;
  readonly port?: number;
  readonly maxBodyBytes?: number;
  /** Source-level hook for invalid input (AppOptions.onInvalid.http; a definition's own wins). */
  readonly onInvalid?: HttpInvalidHook;
  /** Source-level hook for invalid WebSocket messages (AppOptions.onInvalid.ws; a definition's own wins). */
  readonly onInvalidWs?: WsInvalidHook;
}

interface CompiledRoute {
  readonly definition: HttpDefinition;
  readonly match: (pathname: string) => Record<string, string> | undefined;
  readonly body: Validator | undefined;
  readonly params: Validator | undefined;
  readonly query: Validator | undefined;
  readonly headers: Validator | undefined;
  readonly output: ReadonlyMap<number, Validator> | undefined;
}

interface CompiledWs {
  readonly definition: WsDefinition;
  readonly input: Validator | undefined;
  readonly output: Validator | undefined;
}

const MAX_BODY = 1024 * 1024;
const NO_ERRORS: InputError[] = [];
const NO_ANSWER: HttpAnswer = {};
// Shared by every request without a query string: read only (by the authenticator and queryObject).
const EMPTY_SEARCH = new URLSearchParams();

function more(errors: InputError[], found: InputError[]): InputError[] {
  if (found.length === 0) return errors;
  return errors.length === 0 ? found : [...errors, ...found];
}

type HttpInput = Parameters<HttpDefinition["handler"]>[0];

/** The headers of a JSON answer as one object (no spread copies when the handler adds none). */
function jsonHeaders(
  json: string | undefined,
  extra: Readonly<Record<string, string>> | undefined,
): http.OutgoingHttpHeaders | undefined {
  if (json === undefined) return extra === undefined ? undefined : { ...extra };
  const headers: http.OutgoingHttpHeaders = {
    [CONTENT_TYPE_HEADER]: "application/json",
    "content-length": Buffer.byteLength(json),
  };
  return extra === undefined ? headers : Object.assign(headers, extra);
}

/**
 * A handler's context: a class, not an object literal with a getter (cheaper to build per request);
 * the signal is made on first use, as most handlers never look at it.
 */
class RequestContext implements SourceContext {
  readonly key: string;
  readonly principal: Principal;
  readonly client: HeraldClient | undefined;
  readonly #stopping: AbortSignal;
  readonly #res: http.ServerResponse;
  #signal: AbortSignal | undefined;

  constructor(
    key: string,
    principal: Principal,
    client: HeraldClient | undefined,
    stopping: AbortSignal,
    res: http.ServerResponse,
  ) {
    this.key = key;
    this.principal = principal;
    this.client = client;
    this.#stopping = stopping;
    this.#res = res;
  }

  get signal(): AbortSignal {
    if (this.#signal) return this.#signal;
    const res = this.#res;
    const stopping = this.#stopping;
    const aborted = new AbortController();
    // The response closes when it is sent, or when the connection drops first (the caller went away).
    res.once("close", () => {
      if (!res.writableFinished) aborted.abort(new Error("the caller went away"));
    });
    const onStop = () => aborted.abort(stopping.reason);
    if (stopping.aborted) onStop();
    else stopping.addEventListener("abort", onStop, { once: true });
    res.once("close", () => stopping.removeEventListener("abort", onStop));
    this.#signal = aborted.signal;
    return this.#signal;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

export class HttpSource {
  readonly #options: HttpSourceOptions;
  readonly #routes: CompiledRoute[];
  readonly #ws: Map<string, CompiledWs>;
  readonly #stopping = new AbortController();
  readonly #wss = new WebSocketServer({ noServer: true });
  #server: http.Server | undefined;
  #url: string | undefined;

  constructor(options: HttpSourceOptions) {
    this.#options = options;
    this.#routes = options.http.map((definition) => ({
      definition,
      match: pathMatcher(definition.trigger.path),
      body: definition.input.body === undefined ? undefined : compileSchema(definition.input.body),
      params:
        definition.input.params === undefined
          ? undefined
          : compileSchema(definition.input.params, { coerce: true }),
      query:
        definition.input.query === undefined
          ? undefined
          : compileSchema(definition.input.query, { coerce: true }),
      headers:
        definition.input.headers === undefined
          ? undefined
          : compileSchema(definition.input.headers, { coerce: true }),
      output:
        definition.output === undefined
          ? undefined
          : new Map(
              Object.entries(definition.output).map(([status, schema]) => [
                Number(status),
                compileSchema(schema),
              ]),
            ),
    }));
    this.#ws = new Map(
      options.ws.map((definition) => [
        definition.trigger.path,
        {
          definition,
          input: definition.input === undefined ? undefined : compileSchema(definition.input),
          output: definition.output === undefined ? undefined : compileSchema(definition.output),
        },
      ]),
    );
  }

  get started(): boolean {
    return this.#url !== undefined;
  }

  get url(): string {
    if (!this.#url) throw new Error("the app is not started");
    return this.#url;
  }

  async start(): Promise<string> {
    const server = http.createServer((req, res) => {
      try {
        this.#serve(req, res);
      } catch (error) {
        this.#options.outcomes.error("http", error);
        if (!res.headersSent) answer(res, problemBody("internal-error", "the request failed (logged)"));
        else res.destroy();
      }
    });
    server.on("upgrade", (req, socket, head) => {
      this.#upgrade(req, socket, head).catch((error: unknown) => {
        this.#options.outcomes.error("ws", error);
        socket.destroy();
      });
    });
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
    this.#url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    return this.#url;
  }

  async stop(): Promise<void> {
    this.#stopping.abort(new Error("app stopping"));
    for (const client of this.#wss.clients) client.close(1001, "app stopping");
    const server = this.#server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 1_000).unref();
    });
  }

  // The request pipeline runs on callbacks, synchronously wherever it can: no promise (and no
  // microtask) per step for a request that needs no async authentication, hook or handler. Every
  // failure after routing goes through #fail, exactly as the former try/catch around the pipeline.
  #serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { pathname, search } = splitTarget(req.url ?? "/");
    const method = (req.method ?? "GET").toLowerCase();
    const document = method === "get" ? this.#options.documents[pathname] : undefined;
    if (document) {
      res.writeHead(200, { [CONTENT_TYPE_HEADER]: "application/json" }).end(JSON.stringify(document()));
      return;
    }
    let allowed: string[] | undefined;
    for (const route of this.#routes) {
      const params = route.match(pathname);
      if (params === undefined) continue;
      if (route.definition.trigger.method !== method) {
        if (allowed === undefined) allowed = [];
        allowed.push(route.definition.trigger.method.toUpperCase());
        continue;
      }
      const query = search === "" ? EMPTY_SEARCH : new URLSearchParams(search);
      // The caller's trace goes on (its traceparent header); the handler runs in this request's span.
      runInRequestSpan(
        `${req.method} ${route.definition.trigger.path}`,
        req.headers,
        { "http.request.method": req.method ?? "GET", "http.route": route.definition.trigger.path },
        (span) => {
          if (span.recording) {
            span.bind(req); // the body's data/end events continue in the request's span
            res.once("close", () => span.end(res.statusCode));
          }
          this.#run(route, params, query, req, res);
        },
      );
      return;
    }
    if (allowed !== undefined) {
      res.setHeader("allow", allowed.join(", "));
      answer(res, problemBody("method-not-allowed", `${req.method} is not defined on ${pathname}`));
      return;
    }
    answer(res, problemBody("route-not-found", `no event is defined on ${pathname}`));
  }

  #run(
    route: CompiledRoute,
    params: Record<string, string>,
    searchParams: URLSearchParams,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): void {
    const { definition } = route;
    const authenticator = this.#options.authenticator;
    // Nothing to check (no credential configured, none required): skip the async round.
    if (!authenticator.configured && !definition.auth?.required && !definition.auth?.scopes?.length) {
      this.#read(route, ANONYMOUS, params, searchParams, req, res);
      return;
    }
    authenticator.authenticate(req.headers, searchParams, definition.auth).then(
      (principal) => this.#read(route, principal, params, searchParams, req, res),
      (error: unknown) => this.#fail(definition, res, error),
    );
  }

  #read(
    route: CompiledRoute,
    principal: Principal,
    params: Record<string, string>,
    searchParams: URLSearchParams,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): void {
    readJsonBody(req, this.#options.maxBodyBytes ?? MAX_BODY, (error, body) => {
      if (error !== undefined) {
        this.#fail(route.definition, res, error);
        return;
      }
      try {
        this.#validate(route, principal, body, params, searchParams, req, res);
      } catch (thrown) {
        this.#fail(route.definition, res, thrown);
      }
    });
  }

  #validate(
    route: CompiledRoute,
    principal: Principal,
    body: unknown,
    params: Record<string, string>,
    searchParams: URLSearchParams,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): void {
    const { definition } = route;
    const query = queryObject(searchParams);
    // Coercion writes into what it validates: give it a copy, never the request's own headers.
    const headers = route.headers ? { ...req.headers } : req.headers;
    // No array per part when the input is valid (the common case).
    let errors: InputError[] = NO_ERRORS;
    if (route.body) errors = more(errors, route.body.check(body, "body"));
    if (route.params) errors = more(errors, route.params.check(params, "params"));
    if (route.query) errors = more(errors, route.query.check(query, "query"));
    if (route.headers) errors = more(errors, route.headers.check(headers, "headers"));
    if (errors.length > 0) {
      this.#invalid(definition, principal, errors, res).catch((error: unknown) =>
        this.#fail(definition, res, error),
      );
      return;
    }
    const input = { body, params, query, headers };
    const ctx = new RequestContext(
      definition.key,
      principal,
      this.#options.client,
      this.#stopping.signal,
      res,
    );
    if (definition.authorize) {
      Promise.resolve(definition.authorize(input, ctx))
        .then((allowed) => {
          if (!allowed) {
            this.#options.outcomes.count(definition.key, "refused");
            throw new SourceProblem(
              "authorization-refused",
              `${principal.subject} may not call ${definition.key}`,
            );
          }
          this.#handle(route, input, ctx, res);
        })
        .catch((error: unknown) => this.#fail(definition, res, error));
      return;
    }
    this.#handle(route, input, ctx, res);
  }

  /** Runs the handler; a synchronous handler's answer is used as it is (no extra microtask). */
  #handle(route: CompiledRoute, input: HttpInput, ctx: SourceContext, res: http.ServerResponse): void {
    const returned: unknown = route.definition.handler(input, ctx);
    if (isThenable(returned)) {
      Promise.resolve(returned)
        .then((result) => this.#answer(route, result as HttpAnswer | undefined, res))
        .catch((error: unknown) => this.#fail(route.definition, res, error));
      return;
    }
    this.#answer(route, returned as HttpAnswer | undefined, res);
  }

  async #invalid(
    definition: HttpDefinition,
    principal: Principal,
    errors: InputError[],
    res: http.ServerResponse,
  ): Promise<void> {
    this.#options.outcomes.count(definition.key, "invalid");
    const hook = definition.onInvalid ?? this.#options.onInvalid;
    const custom = hook === undefined ? undefined : await hook(errors, { key: definition.key, principal });
    if (custom === undefined)
      throw new SourceProblem("input-invalid", `the input of ${definition.key} is invalid`, { errors });
    const json = custom.body === undefined ? undefined : JSON.stringify(custom.body);
    res.writeHead(custom.status ?? 400, jsonHeaders(json, custom.headers));
    res.end(json);
  }

  #answer(route: CompiledRoute, answered: HttpAnswer | undefined, res: http.ServerResponse): void {
    const { definition } = route;
    const outcomes = this.#options.outcomes;
    const result = answered ?? NO_ANSWER;
    const status = result.status ?? (result.body === undefined ? 204 : 200);
    if (route.output) {
      const validator = route.output.get(status);
      const problems =
        validator === undefined
          ? [{ field: "status", reason: `${status} is not a declared output status` }]
          : validator.check(result.body, "body");
      if (problems.length > 0) {
        outcomes.count(definition.key, "output-invalid");
        outcomes.log("error", { key: definition.key, errors: problems }, "handler output breaks its schema");
        throw new SourceProblem(
          "output-invalid",
          `the handler of ${definition.key} answered an undeclared output`,
        );
      }
    }
    outcomes.count(definition.key, "handled");
    const raw = rawBody(result);
    if (raw !== undefined) {
      res.writeHead(status, { ...result.headers, "content-length": raw.byteLength });
      res.end(raw);
      return;
    }
    const json = result.body === undefined ? undefined : JSON.stringify(result.body);
    res.writeHead(status, jsonHeaders(json, result.headers));
    res.end(json);
  }

  #fail(definition: HttpDefinition, res: http.ServerResponse, error: unknown): void {
    const outcomes = this.#options.outcomes;
    const problem = toProblem(error);
    if (problem.problem.status >= 500 && !(error instanceof SourceProblem))
      outcomes.error(definition.key, error);
    if (!(error instanceof SourceProblem)) outcomes.count(definition.key, "failed");
    if (res.headersSent) {
      res.destroy();
      return;
    }
    answer(res, problem.problem, problem.headers);
  }

  async #upgrade(
    req: http.IncomingMessage,
    socket: import("node:stream").Duplex,
    head: Buffer,
  ): Promise<void> {
    const url = new URL(req.url ?? "/", "http://app");
    const route = this.#ws.get(url.pathname);
    if (!route)
      return rejectUpgrade(socket, problemBody("route-not-found", `no WebSocket event on ${url.pathname}`));
    let principal: Principal;
    try {
      principal = await this.#options.authenticator.authenticate(
        req.headers,
        url.searchParams,
        route.definition.auth,
      );
    } catch (error) {
      return rejectUpgrade(socket, toProblem(error).problem);
    }
    this.#wss.handleUpgrade(req, socket, head, (client) => {
      // One signal per connection: aborted when the socket closes or the app stops, so streamed
      // replies (and any handler waiting on something) end with the connection.
      const closed = new AbortController();
      const onStop = () => closed.abort(this.#stopping.signal.reason);
      if (this.#stopping.signal.aborted) onStop();
      else this.#stopping.signal.addEventListener("abort", onStop, { once: true });
      client.once("close", () => {
        this.#stopping.signal.removeEventListener("abort", onStop);
        closed.abort(new Error("the socket closed"));
      });
      const ctx: SourceContext = {
        key: route.definition.key,
        principal,
        signal: closed.signal,
        client: this.#options.client,
      };
      client.on("message", (raw) => {
        void this.#message(route, client, ctx, raw.toString());
      });
    });
  }

  async #message(route: CompiledWs, client: WebSocket, ctx: SourceContext, raw: string): Promise<void> {
    const { definition } = route;
    const outcomes = this.#options.outcomes;
    let id: unknown;
    try {
      let frame: unknown;
      try {
        frame = JSON.parse(raw);
      } catch {
        throw new SourceProblem("json-invalid", "a message must be JSON");
      }
      if (typeof frame !== "object" || frame === null || Array.isArray(frame) || !("data" in frame))
        throw new SourceProblem("input-invalid", 'a message is a JSON object { "id"?, "data" }', {
          errors: [{ field: "message/data", reason: "is required" }],
        });
      id = (frame as { id?: unknown }).id;
      const data = (frame as { data: unknown }).data;
      const errors = route.input?.check(data, "message/data") ?? [];
      if (errors.length > 0) {
        outcomes.count(definition.key, "invalid");
        const hook = definition.onInvalid ?? this.#options.onInvalidWs;
        const custom =
          hook === undefined
            ? undefined
            : await hook(errors, { key: definition.key, principal: ctx.principal });
        if (custom === undefined)
          throw new SourceProblem("input-invalid", `the message of ${definition.key} is invalid`, { errors });
        if ("close" in custom) client.close(custom.close.code, custom.close.reason);
        else
          client.send(JSON.stringify(id === undefined ? { data: custom.data } : { id, data: custom.data }));
        return;
      }
      if (definition.authorize && !(await definition.authorize(data, ctx))) {
        outcomes.count(definition.key, "refused");
        throw new SourceProblem(
          "authorization-refused",
          `${ctx.principal.subject} may not send ${definition.key}`,
        );
      }
      const reply: unknown = await definition.handler(data, ctx);
      if (isAsyncIterable(reply)) {
        await this.#stream(route, client, ctx, id, reply);
        return;
      }
      if (reply === undefined) {
        outcomes.count(definition.key, "handled");
        return;
      }
      const problems = route.output?.check(reply, "data") ?? [];
      if (problems.length > 0) {
        outcomes.count(definition.key, "output-invalid");
        outcomes.log("error", { key: definition.key, errors: problems }, "handler output breaks its schema");
        throw new SourceProblem(
          "output-invalid",
          `the handler of ${definition.key} answered an undeclared output`,
        );
      }
      outcomes.count(definition.key, "handled");
      client.send(JSON.stringify(id === undefined ? { data: reply } : { id, data: reply }));
    } catch (error) {
      if (!(error instanceof SourceProblem)) {
        outcomes.count(definition.key, "failed");
        if (!(error instanceof NonRetryableError)) outcomes.error(definition.key, error);
      }
      const { problem } = toProblem(error);
      client.send(JSON.stringify(id === undefined ? { problem } : { id, problem }));
    }
  }

  /**
   * A streamed reply: each item the handler's iterable yields is an `{ id, data }` frame (validated
   * like a reply), then `{ id, done: true }`. A throw or an invalid item ends it with `{ id, problem }`
   * (thrown to #message). The socket closing aborts ctx.signal and calls the iterator's return(), so a
   * generator's `finally` runs. Backpressure: past WS_HIGH_WATER bytes buffered on the socket, the
   * next item is pulled only once the socket has written what it holds.
   */
  async #stream(
    route: CompiledWs,
    client: WebSocket,
    ctx: SourceContext,
    id: unknown,
    iterable: AsyncIterable<unknown>,
  ): Promise<void> {
    const { definition } = route;
    const outcomes = this.#options.outcomes;
    const iterator = iterable[Symbol.asyncIterator]();
    let finished = false;
    const onClose = () => {
      // Queued behind a pending next() for a generator; its finally runs once it is released.
      if (!finished) void Promise.resolve(iterator.return?.()).catch(() => undefined);
    };
    ctx.signal.addEventListener("abort", onClose, { once: true });
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done || ctx.signal.aborted) break;
        const problems = route.output?.check(next.value, "data") ?? [];
        if (problems.length > 0) {
          outcomes.count(definition.key, "output-invalid");
          outcomes.log(
            "error",
            { key: definition.key, errors: problems },
            "handler output breaks its schema",
          );
          throw new SourceProblem(
            "output-invalid",
            `the stream of ${definition.key} yielded an undeclared output`,
          );
        }
        await sendFrame(client, id === undefined ? { data: next.value } : { id, data: next.value });
      }
      finished = true;
      if (ctx.signal.aborted) return;
      outcomes.count(definition.key, "handled");
      client.send(JSON.stringify(id === undefined ? { done: true } : { id, done: true }));
    } catch (error) {
      // The socket is gone: nobody to tell (the abort is what ended the iterator).
      if (ctx.signal.aborted) return;
      throw error;
    } finally {
      ctx.signal.removeEventListener("abort", onClose);
      if (!finished) {
        finished = true;
        await Promise.resolve(iterator.return?.()).catch(() => undefined);
      }
    }
  }
}

/**
 * A body sent as it is: a string or bytes with a `content-type` of the handler's that is not JSON
 * (a page, a script). Everything else is serialized as JSON.
 */
function rawBody(answer: HttpAnswer): Buffer | undefined {
  const { body, headers } = answer;
  if (typeof body !== "string" && !(body instanceof Uint8Array)) return undefined;
  let type: string | undefined;
  for (const name in headers) if (name.toLowerCase() === CONTENT_TYPE_HEADER) type = headers[name];
  if (type === undefined) return undefined;
  const media = type.split(";")[0]!.trim().toLowerCase();
  if (media === "application/json" || media.endsWith("+json")) return undefined;
  return typeof body === "string"
    ? Buffer.from(body, "utf8")
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Bytes buffered on a socket past which a stream waits for the socket to drain. */
const WS_HIGH_WATER = 1024 * 1024;

/** Sends a frame; resolves at once unless the socket holds more than WS_HIGH_WATER bytes unsent. */
function sendFrame(client: WebSocket, frame: unknown): Promise<void> {
  return new Promise((resolve) => {
    let waiting = false;
    // Called once the frame is written to the OS (or failed: the socket closed, ending the stream).
    client.send(JSON.stringify(frame), () => {
      if (waiting) resolve();
    });
    if (client.bufferedAmount > WS_HIGH_WATER) waiting = true;
    else resolve();
  });
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function"
  );
}

/** Maps what a pipeline threw to a catalog problem. */
function toProblem(error: unknown): {
  problem: SourceProblem["problem"];
  headers: Readonly<Record<string, string>>;
} {
  if (error instanceof SourceProblem) return { problem: error.problem, headers: error.headers };
  if (error instanceof NonRetryableError)
    return { problem: problemBody("handler-refused", error.message), headers: {} };
  if (error instanceof RetryableError) {
    const headers: Record<string, string> =
      error.delayMs === undefined
        ? {}
        : { [RETRY_AFTER_HEADER]: String(Math.max(1, Math.ceil(error.delayMs / 1000))) };
    return { problem: problemBody("handler-unavailable", error.message), headers };
  }
  return { problem: problemBody("internal-error", "the handler failed (logged)"), headers: {} };
}

function answer(
  res: http.ServerResponse,
  problem: SourceProblem["problem"],
  headers: Readonly<Record<string, string>> = {},
): void {
  const body = JSON.stringify(problem);
  res
    .writeHead(problem.status, {
      [CONTENT_TYPE_HEADER]: PROBLEM_JSON_MEDIA_TYPE,
      "content-length": Buffer.byteLength(body),
      ...headers,
    })
    .end(body);
}

function rejectUpgrade(socket: import("node:stream").Duplex, problem: SourceProblem["problem"]): void {
  const body = JSON.stringify(problem);
  socket.end(
    `HTTP/1.1 ${problem.status} ${problem.title}\r\n${CONTENT_TYPE_HEADER}: ${PROBLEM_JSON_MEDIA_TYPE}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * The path and query of a request target. The common origin-form (`/orders?x=1`, nothing to
 * normalise) is split by hand: a WHATWG URL per request is the largest fixed cost of a small request.
 * Anything else (absolute-form, dot segments, backslashes) goes through URL as before.
 */
function splitTarget(target: string): { pathname: string; search: string } {
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  if (
    path.charCodeAt(0) === 47 /* / */ &&
    !path.includes("/.") &&
    !path.includes("\\") &&
    !path.includes("#")
  ) {
    const hash = q === -1 ? -1 : target.indexOf("#", q);
    return { pathname: path, search: q === -1 ? "" : target.slice(q + 1, hash === -1 ? undefined : hash) };
  }
  const url = new URL(target, "http://app");
  return { pathname: url.pathname, search: url.search };
}

function queryObject(search: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  if (search.size === 0) return query;
  for (const name of new Set(search.keys())) {
    const all = search.getAll(name);
    query[name] = all.length === 1 ? all[0]! : all;
  }
  return query;
}

/**
 * Calls back once with the JSON body (undefined when there is none) or a SourceProblem. Events and a
 * callback, not `for await` or a promise: this runs once per request.
 */
function readJsonBody(
  req: http.IncomingMessage,
  limit: number,
  done: (error: unknown, body?: unknown) => void,
): void {
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let size = 0;
  let settled = false;
  const settle = (error: unknown, body?: unknown) => {
    if (settled) return;
    settled = true;
    done(error, body);
  };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) {
      req.off("data", onData);
      req.resume();
      settle(new SourceProblem("payload-too-large", `the body is larger than ${limit} bytes`));
    } else if (first === undefined) first = chunk;
    else if (chunks === undefined) chunks = [first, chunk];
    else chunks.push(chunk);
  };
  req.on("data", onData);
  req.once("error", (error) => settle(error));
  req.once("end", () => {
    if (settled) return;
    if (size === 0 || first === undefined) return settle(undefined, undefined);
    const type = String(req.headers[CONTENT_TYPE_HEADER] ?? "")
      .split(";")[0]!
      .trim()
      .toLowerCase();
    if (type !== "application/json" && !type.endsWith("+json"))
      return settle(new SourceProblem("unsupported-media-type", "send the body as application/json"));
    let body: unknown;
    try {
      body = JSON.parse((chunks === undefined ? first : Buffer.concat(chunks)).toString("utf8"));
    } catch {
      return settle(new SourceProblem("json-invalid", "the body is not valid JSON"));
    }
    settle(undefined, body);
  });
}
