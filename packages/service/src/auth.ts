// Authentication of synchronous sources: API keys and JWTs (jose; JWKS fetched and cached by jose's
// createRemoteJWKSet). The credential comes from `Authorization: Bearer <token>` (a token with two dots
// is read as a JWT when JWT is configured), `X-API-Key`, or `?access_token=` (WebSocket clients in
// browsers cannot set headers).
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { AuthRequirement, Principal } from "./definition.js";
import { SourceProblem } from "./problem.js";

export interface ApiKeyEntry {
  readonly subject: string;
  readonly scopes?: readonly string[];
}

export interface JwtOptions {
  /** A JWKS URL (keys cached, refetched on an unknown `kid`), or a shared HS256 secret. */
  readonly jwksUrl?: string;
  readonly secret?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** The claim listing scopes, space-separated or an array (default `scope`). */
  readonly scopeClaim?: string;
}

export interface AuthOptions {
  /** API key → who it is. */
  readonly apiKeys?: Readonly<Record<string, ApiKeyEntry>>;
  readonly jwt?: JwtOptions;
}

export const ANONYMOUS: Principal = Object.freeze({ kind: "anonymous", subject: "anonymous", scopes: [] });

const WWW_AUTHENTICATE = { "www-authenticate": 'Bearer realm="herald-service"' };

export class Authenticator {
  readonly #apiKeys: ReadonlyMap<string, ApiKeyEntry>;
  readonly #jwt: JwtOptions | undefined;
  readonly #key: JWTVerifyGetKey | Uint8Array | undefined;

  constructor(options: AuthOptions = {}) {
    this.#apiKeys = new Map(Object.entries(options.apiKeys ?? {}));
    this.#jwt = options.jwt;
    if (options.jwt?.jwksUrl) this.#key = createRemoteJWKSet(new URL(options.jwt.jwksUrl));
    else if (options.jwt?.secret) this.#key = new TextEncoder().encode(options.jwt.secret);
    else if (options.jwt) throw new TypeError("jwt needs jwksUrl or secret");
  }

  /** True when any credential kind is configured (then events need one unless `auth.required` is false). */
  get configured(): boolean {
    return this.#apiKeys.size > 0 || this.#key !== undefined;
  }

  /** The principal of a request, after the requirement's checks; throws SourceProblem (401/403). */
  async authenticate(
    headers: Readonly<Record<string, string | string[] | undefined>>,
    query: URLSearchParams,
    requirement: AuthRequirement | undefined,
  ): Promise<Principal> {
    const required = requirement?.required ?? this.configured;
    const principal = await this.#principal(headers, query);
    if (principal === undefined) {
      if (required || (requirement?.scopes?.length ?? 0) > 0)
        throw new SourceProblem(
          "unauthorized",
          "this event needs an API key or a bearer token",
          {},
          WWW_AUTHENTICATE,
        );
      return ANONYMOUS;
    }
    for (const scope of requirement?.scopes ?? []) {
      if (!principal.scopes.includes(scope))
        throw new SourceProblem("forbidden", `the caller lacks the scope ${scope}`, { requiredScope: scope });
    }
    return principal;
  }

  async #principal(
    headers: Readonly<Record<string, string | string[] | undefined>>,
    query: URLSearchParams,
  ): Promise<Principal | undefined> {
    const authorization = single(headers["authorization"]);
    const bearer =
      authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim() ?? query.get("access_token") ?? undefined;
    const apiKey = single(headers["x-api-key"]) ?? (bearer && !looksLikeJwt(bearer) ? bearer : undefined);
    if (bearer && looksLikeJwt(bearer) && this.#key) return this.#verifyJwt(bearer);
    if (apiKey !== undefined) {
      const entry = this.#apiKeys.get(apiKey);
      if (!entry)
        throw new SourceProblem("api-key-invalid", "the API key is not known", {}, WWW_AUTHENTICATE);
      return { kind: "api-key", subject: entry.subject, scopes: entry.scopes ?? [] };
    }
    if (bearer !== undefined)
      throw new SourceProblem("token-invalid", "bearer tokens are not accepted here", {}, WWW_AUTHENTICATE);
    return undefined;
  }

  async #verifyJwt(token: string): Promise<Principal> {
    const jwt = this.#jwt!;
    let payload: JWTPayload;
    try {
      const options = { issuer: jwt.issuer, audience: jwt.audience };
      const key = this.#key!;
      payload = (
        key instanceof Uint8Array
          ? await jwtVerify(token, key, options)
          : await jwtVerify(token, key, options)
      ).payload;
    } catch (error) {
      throw new SourceProblem(
        "token-invalid",
        `bearer token refused: ${(error as Error).message}`,
        {},
        WWW_AUTHENTICATE,
      );
    }
    const raw = payload[jwt.scopeClaim ?? "scope"];
    const scopes = Array.isArray(raw)
      ? raw.filter((s): s is string => typeof s === "string")
      : typeof raw === "string"
        ? raw.split(/\s+/).filter(Boolean)
        : [];
    return { kind: "jwt", subject: payload.sub ?? "unknown", scopes, claims: payload };
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function looksLikeJwt(token: string): boolean {
  return token.split(".").length === 3;
}
