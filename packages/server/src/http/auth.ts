// API keys with scopes. The router asks the authorizer with the access the matched route declares and
// hands the principal to the handler in its context (ingest checks a key's type prefixes per event). Keys are compared by SHA-256 digest
// through a Map, so lookup time does not depend on how many leading characters match.
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { ApiKeyConfig, Scope } from "../config.js";
import { ACCESS_TOKEN_QUERY, AUTH_REALM, AUTH_SCHEME, WWW_AUTHENTICATE_HEADER } from "@herald/protocol";
import { HttpProblem } from "./problem.js";
import type { Access } from "./router.js";

/** Who is calling. `admin` implies `publish` and `consume`. */
export interface Principal {
  readonly scopes: ReadonlySet<Scope>;
  /** Only events whose `type` starts with one of these may be published (undefined = any type). */
  readonly typePrefixes?: readonly string[];
}

/** Everything allowed: the principal of every request when no API keys are configured. */
export const OPEN_PRINCIPAL: Principal = Object.freeze({
  scopes: new Set<Scope>(["publish", "consume", "admin"]),
});

export class Authorizer {
  private readonly byDigest = new Map<string, Principal>();

  constructor(keys: readonly ApiKeyConfig[]) {
    for (const key of keys) {
      const scopes = new Set<Scope>(key.scopes);
      if (scopes.has("admin")) {
        scopes.add("publish");
        scopes.add("consume");
      }
      const principal: Principal = key.typePrefixes
        ? { scopes, typePrefixes: [...key.typePrefixes] }
        : { scopes };
      this.byDigest.set(digest(key.key), principal);
    }
  }

  get enabled(): boolean {
    return this.byDigest.size > 0;
  }

  /** Who sent the request, without refusing it: no key, an unknown key, or the key's principal. */
  identify(req: IncomingMessage): "none" | "invalid" | Principal {
    if (!this.enabled) return OPEN_PRINCIPAL;
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) return "none";
    return this.byDigest.get(digest(token)) ?? "invalid";
  }

  /**
   * The caller of a request to a route with `access`. Throws 401 without a known key, 403 when the key
   * lacks the scope. `allowQueryToken` accepts `?access_token=` (WebSocket from browsers).
   */
  authorize(
    req: IncomingMessage,
    url: URL,
    access: Access,
    options: { allowQueryToken?: boolean } = {},
  ): Principal {
    if (!this.enabled || access === "public") return OPEN_PRINCIPAL;
    const token =
      bearerToken(req.headers.authorization) ??
      (options.allowQueryToken ? (url.searchParams.get(ACCESS_TOKEN_QUERY) ?? undefined) : undefined);
    if (token === undefined) {
      throw unauthorized(
        "unauthorized",
        "this endpoint needs an API key: send `Authorization: Bearer <key>`",
      );
    }
    const principal = this.byDigest.get(digest(token));
    if (principal === undefined)
      throw unauthorized("api-key-invalid", "the API key is not valid", "invalid_token");
    if (!principal.scopes.has(access)) {
      throw new HttpProblem("forbidden", `the API key lacks the \`${access}\` scope`, {
        extensions: { requiredScope: access },
      });
    }
    return principal;
  }
}

/** The first event type a principal may not publish, or undefined when all are allowed. */
export function forbiddenType(principal: Principal, types: Iterable<string>): string | undefined {
  const prefixes = principal.typePrefixes;
  if (prefixes === undefined) return undefined;
  for (const type of types) {
    if (!prefixes.some((prefix) => type.startsWith(prefix))) return type;
  }
  return undefined;
}

function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

function digest(key: string): string {
  return createHash("sha256").update(key).digest("base64");
}

function unauthorized(code: "unauthorized" | "api-key-invalid", detail: string, error?: string): HttpProblem {
  const base = `${AUTH_SCHEME} realm="${AUTH_REALM}"`;
  const challenge = error ? `${base}, error="${error}"` : base;
  return new HttpProblem(code, detail, { headers: { [WWW_AUTHENTICATE_HEADER]: challenge } });
}
