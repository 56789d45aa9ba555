// Cross-origin access for browser apps (and the console on another origin). Off unless origins are
// configured: then requests from those origins get the CORS headers a browser SDK needs, and preflights
// from them are answered. Other origins get no CORS headers at all, so the browser keeps them out.
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  ALLOW_HEADER,
  AUTHORIZATION_HEADER,
  CE_HEADER_PREFIX,
  CONTENT_LENGTH_HEADER,
  CONTENT_TYPE_HEADER,
  EXPECTED_VERSION_HEADER,
  LOCATION_HEADER,
  RETRY_AFTER_HEADER,
  WWW_AUTHENTICATE_HEADER,
} from "@herald/protocol";

const ORIGIN = "origin";
const VARY = "vary";
const REQUEST_METHOD = "access-control-request-method";
const REQUEST_HEADERS = "access-control-request-headers";
const ALLOW_ORIGIN = "access-control-allow-origin";
const ALLOW_CREDENTIALS = "access-control-allow-credentials";
const ALLOW_METHODS = "access-control-allow-methods";
const ALLOW_HEADERS = "access-control-allow-headers";
const EXPOSE_HEADERS = "access-control-expose-headers";
const MAX_AGE = "access-control-max-age";

/** Request headers a browser client sends besides the `ce-*` attributes of binary mode. */
const REQUEST_HEADER_NAMES: ReadonlySet<string> = new Set([
  AUTHORIZATION_HEADER,
  CONTENT_TYPE_HEADER,
  "content-encoding",
  EXPECTED_VERSION_HEADER,
]);
/** Answer headers clients read (a browser hides all but a few unless they are listed). */
const EXPOSED = [LOCATION_HEADER, RETRY_AFTER_HEADER, WWW_AUTHENTICATE_HEADER, ALLOW_HEADER].join(", ");
/** Browsers cap this anyway (Chromium: 2 h); 10 min lets a changed allow-list take effect soon. */
const PREFLIGHT_MAX_AGE_S = 600;

export class CorsPolicy {
  private readonly any: boolean;
  private readonly origins: ReadonlySet<string>;

  /** `origins`: `scheme://host[:port]` entries (compared case-insensitively), or `*` for any. */
  constructor(origins: readonly string[]) {
    this.any = origins.includes("*");
    this.origins = new Set(origins.map((o) => o.toLowerCase()));
  }

  /** Adds the CORS answer headers when the request comes from an allowed origin. */
  decorate(req: IncomingMessage, res: ServerResponse): void {
    res.appendHeader(VARY, "Origin");
    const origin = this.allowed(req);
    if (origin === undefined) return;
    res.setHeader(ALLOW_ORIGIN, origin);
    res.setHeader(ALLOW_CREDENTIALS, "true");
    res.setHeader(EXPOSE_HEADERS, EXPOSED);
  }

  /**
   * Answers a preflight (OPTIONS with Access-Control-Request-Method) from an allowed origin for a path
   * that allows `methods`; returns false (nothing sent) for anything else.
   */
  preflight(req: IncomingMessage, res: ServerResponse, methods: readonly string[]): boolean {
    const method = req.headers[REQUEST_METHOD];
    if (typeof method !== "string" || this.allowed(req) === undefined) return false;
    const asked = (req.headers[REQUEST_HEADERS] ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h.length > 0);
    const headers = asked.filter((h) => REQUEST_HEADER_NAMES.has(h) || h.startsWith(CE_HEADER_PREFIX));
    for (const name of REQUEST_HEADER_NAMES) if (!headers.includes(name)) headers.push(name);
    res.appendHeader(VARY, "Access-Control-Request-Method, Access-Control-Request-Headers");
    res.writeHead(204, {
      [ALLOW_HEADER]: methods.join(", "),
      [ALLOW_METHODS]: methods.join(", "),
      [ALLOW_HEADERS]: headers.join(", "),
      [MAX_AGE]: String(PREFLIGHT_MAX_AGE_S),
      [CONTENT_LENGTH_HEADER]: 0,
    });
    res.end();
    return true;
  }

  private allowed(req: IncomingMessage): string | undefined {
    const origin = req.headers[ORIGIN];
    if (typeof origin !== "string" || origin === "null") return undefined;
    return this.any || this.origins.has(origin.toLowerCase()) ? origin : undefined;
  }
}
