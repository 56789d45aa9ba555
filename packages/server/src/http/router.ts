// The route table: each route declares its method, path, access and handler where it is added
// (Fastify-like), and the router enforces the policy before the handler runs. Patterns use `:name`
// segments (`/subscriptions/:id/pull`); parameters are percent-decoded (bad encoding → 400 path-invalid).
// HEAD is answered wherever GET is, OPTIONS everywhere (`Allow`, and CORS preflights when configured).
// WebSocket upgrades are routes of the same table. Every thrown error becomes a problem in answerError.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { ALLOW_HEADER, CONTENT_LENGTH_HEADER } from "@herald/protocol";
import type { Scope } from "../config.js";
import type { Principal } from "./auth.js";
import { OPEN_PRINCIPAL } from "./auth.js";
import type { CorsPolicy } from "./cors.js";
import { answerError } from "./errors.js";
import { HttpProblem, problemUpgradeResponse, sendProblem } from "./problem.js";

/** Who may call a route: anyone, or an API key with this scope (`admin` implies the others). */
export type Access = Scope | "public";

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  /** The caller, as the authorizer found it (everything allowed when auth is off). */
  readonly principal: Principal;
}

export interface UpgradeContext {
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  readonly principal: Principal;
}

export type RouteHandler = (ctx: RequestContext) => Promise<void> | void;
export type UpgradeHandler = (ctx: UpgradeContext) => Promise<void> | void;

export interface RouteDefinition {
  readonly method: "GET" | "POST" | "PUT" | "DELETE" | "PATCH";
  readonly path: string;
  readonly access: Access;
  readonly handler: RouteHandler;
}

export interface UpgradeRouteDefinition {
  readonly path: string;
  readonly access: Access;
  readonly handler: UpgradeHandler;
}

/** One row of the route table as the docs list it; `WebSocket` for upgrade routes. */
export interface RouteInfo {
  readonly method: RouteDefinition["method"] | "WebSocket";
  readonly path: string;
  readonly access: Access;
}

/** Checks the caller against a route's access; throws a 401/403 HttpProblem. */
export type Authorize = (
  req: IncomingMessage,
  url: URL,
  access: Access,
  options: { allowQueryToken: boolean },
) => Principal;

export interface RouterOptions {
  /** Without it every request runs as the open principal. */
  readonly authorize?: Authorize;
  /** Called with errors no catalog code describes (answered as 500 internal-error). */
  readonly onUnexpected?: (error: unknown) => void;
  /** Cross-origin policy; undefined: no CORS headers at all. */
  readonly cors?: CorsPolicy;
}

interface Route {
  readonly info: RouteInfo;
  readonly segments: readonly string[];
  readonly handler?: RouteHandler;
  readonly upgrade?: UpgradeHandler;
}

type Match<T> = { route: T; params: Record<string, string> } | { allowed: string[] };

export class Router {
  private readonly table: Route[] = [];
  private readonly options: RouterOptions;

  constructor(options: RouterOptions = {}) {
    this.options = options;
  }

  add(definition: RouteDefinition): this {
    const { method, path, access, handler } = definition;
    this.push({ info: { method, path, access }, segments: split(path), handler });
    return this;
  }

  /** A WebSocket endpoint: the handler takes over the socket (or answers a problem by throwing). */
  upgrade(definition: UpgradeRouteDefinition): this {
    const { path, access, handler } = definition;
    this.push({ info: { method: "WebSocket", path, access }, segments: split(path), upgrade: handler });
    return this;
  }

  /** The route table, in the order routes were added. */
  routes(): RouteInfo[] {
    return this.table.map((route) => route.info);
  }

  /** Finds the route for a request: the route and its params, or the methods the path allows. */
  match(method: string, pathname: string): Match<Route> {
    const parts = split(pathname);
    const allowed = new Set<string>();
    const wanted = method === "HEAD" ? "GET" : method;
    for (const route of this.table) {
      if (route.handler === undefined) continue;
      const params = matchSegments(route.segments, parts, route.info.method === wanted);
      if (params === undefined) continue;
      if (route.info.method === wanted) return { route, params };
      allowed.add(route.info.method);
    }
    if (allowed.has("GET")) allowed.add("HEAD");
    if (allowed.size > 0) allowed.add("OPTIONS");
    return { allowed: [...allowed] };
  }

  /**
   * Dispatches one request; answers 404/405, OPTIONS and every error itself. Resolves with the route
   * that took it (its path pattern is the metrics label), undefined when none did.
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<RouteInfo | undefined> {
    let matched: RouteInfo | undefined;
    try {
      const url = new URL(req.url ?? "/", "http://herald.local");
      const method = req.method ?? "GET";
      const cors = this.options.cors;
      cors?.decorate(req, res);
      const found = this.match(method, url.pathname);
      if ("allowed" in found) {
        req.resume();
        if (found.allowed.length === 0)
          throw new HttpProblem("route-not-found", `no route for ${url.pathname}`);
        const allow = found.allowed.join(", ");
        if (method === "OPTIONS") {
          if (!cors?.preflight(req, res, found.allowed)) {
            res.writeHead(204, { [ALLOW_HEADER]: allow, [CONTENT_LENGTH_HEADER]: 0 });
            res.end();
          }
          return undefined;
        }
        throw new HttpProblem("method-not-allowed", `${method} is not allowed on ${url.pathname}`, {
          headers: { [ALLOW_HEADER]: allow },
        });
      }
      matched = found.route.info;
      const principal = this.authorize(req, url, matched.access, false);
      if (method === "HEAD") headOnly(res);
      await found.route.handler!({ req, res, url, params: found.params, principal });
    } catch (error) {
      if (!req.readableEnded) req.resume();
      sendProblem(res, answerError(error, this.options.onUnexpected));
    }
    return matched;
  }

  /** Dispatches an upgrade request to its WebSocket route; refusals are raw HTTP problem answers. */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    try {
      const url = new URL(req.url ?? "/", "http://herald.local");
      const parts = split(url.pathname);
      for (const route of this.table) {
        if (route.upgrade === undefined) continue;
        const params = matchSegments(route.segments, parts);
        if (params === undefined) continue;
        const principal = this.authorize(req, url, route.info.access, true);
        await route.upgrade({ req, socket, head, url, params, principal });
        return;
      }
      throw new HttpProblem("route-not-found", `no WebSocket endpoint at ${url.pathname}`);
    } catch (error) {
      socket.end(problemUpgradeResponse(answerError(error, this.options.onUnexpected)));
    }
  }

  private push(route: Route): void {
    this.table.push(route);
  }

  private authorize(req: IncomingMessage, url: URL, access: Access, allowQueryToken: boolean): Principal {
    const authorize = this.options.authorize;
    return authorize === undefined ? OPEN_PRINCIPAL : authorize(req, url, access, { allowQueryToken });
  }
}

/**
 * The access a request needs by the route table (`WebSocket` for upgrades, HEAD as GET), or undefined
 * when no route takes it (404/405, OPTIONS: answered by the router without a key).
 */
export function accessOf(routes: readonly RouteInfo[], method: string, pathname: string): Access | undefined {
  const parts = split(pathname);
  const wanted = method === "HEAD" ? "GET" : method;
  for (const route of routes) {
    if (route.method !== wanted) continue;
    const pattern = split(route.path);
    if (pattern.length === parts.length && pattern.every((p, i) => p.startsWith(":") || p === parts[i]))
      return route.access;
  }
  return undefined;
}

/**
 * HEAD: node already drops the body of a HEAD answer, but a streaming handler (SSE) would keep the
 * exchange open forever; end it once the headers are out, and make later writes no-ops.
 */
function headOnly(res: ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  (res as { writeHead: unknown }).writeHead = (...args: unknown[]) => {
    const out = writeHead(...args);
    setImmediate(() => {
      if (!res.writableEnded) res.end();
    });
    return out;
  };
  (res as { write: unknown }).write = () => true;
}

function split(path: string): string[] {
  return path.split("/").filter((s) => s.length > 0);
}

/** The params when `parts` fit `pattern`; `decode: false` only checks the fit (an empty object). */
function matchSegments(
  pattern: readonly string[],
  parts: readonly string[],
  decode = true,
): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const part = parts[i]!;
    if (!p.startsWith(":") && p !== part) return undefined;
  }
  if (!decode) return params;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (!p.startsWith(":")) continue;
    try {
      params[p.slice(1)] = decodeURIComponent(parts[i]!);
    } catch {
      throw new HttpProblem(
        "path-invalid",
        `path segment ${JSON.stringify(parts[i])} is not valid percent-encoding`,
        {
          errors: [{ field: p.slice(1), reason: "invalid percent-encoding" }],
        },
      );
    }
  }
  return params;
}
