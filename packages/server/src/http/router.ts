// A tiny method + path router over node:http. Patterns use `:name` segments
// (`/subscriptions/:id/pull`); parameters are percent-decoded. Handlers throw HttpProblem or a typed
// error that problemOf maps; anything else becomes an `internal-error` problem (and is logged).
import type { IncomingMessage, ServerResponse } from "node:http";
import { ALLOW_HEADER } from "@herald/protocol";
import { isUnexpected, problemOf } from "./errors.js";
import { HttpProblem, sendProblem } from "./problem.js";

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
}

export type RouteHandler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  readonly method: string;
  readonly segments: readonly string[];
  readonly handler: RouteHandler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: RouteHandler): this {
    this.routes.push({ method: method.toUpperCase(), segments: split(pattern), handler });
    return this;
  }

  /** Finds the route for a request: the handler and its params, or the methods the path allows. */
  match(
    method: string,
    pathname: string,
  ): { handler: RouteHandler; params: Record<string, string> } | { allowed: string[] } {
    const parts = split(pathname);
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (params === undefined) continue;
      if (route.method === method) return { handler: route.handler, params };
      allowed.push(route.method);
    }
    return { allowed };
  }

  /** Dispatches one request; answers 404/405 problems itself. */
  async handle(req: IncomingMessage, res: ServerResponse, onError?: (error: unknown) => void): Promise<void> {
    const url = new URL(req.url ?? "/", "http://herald.local");
    try {
      const found = this.match(req.method ?? "GET", url.pathname);
      if ("allowed" in found) {
        req.resume();
        if (found.allowed.length === 0)
          throw new HttpProblem("route-not-found", `no route for ${url.pathname}`);
        throw new HttpProblem("method-not-allowed", `${req.method} is not allowed on ${url.pathname}`, {
          headers: { [ALLOW_HEADER]: found.allowed.join(", ") },
        });
      }
      await found.handler({ req, res, url, params: found.params });
    } catch (error) {
      if (isUnexpected(error)) onError?.(error);
      sendProblem(res, problemOf(error));
    }
  }
}

function split(path: string): string[] {
  return path.split("/").filter((s) => s.length > 0);
}

function matchSegments(
  pattern: readonly string[],
  parts: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const part = parts[i]!;
    if (p.startsWith(":")) {
      try {
        params[p.slice(1)] = decodeURIComponent(part);
      } catch {
        return undefined;
      }
    } else if (p !== part) {
      return undefined;
    }
  }
  return params;
}
