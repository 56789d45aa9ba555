// Hosts the web console (@herald/console) at /console: the page and its hashed assets, read once at start
// from the package's public entry. The page is public like `/`: it holds no data, and every call it makes
// goes through the API with the key the user signs in with. Each answer carries a Content-Security-Policy
// that lets the page run only its own scripts and styles and talk only to this server.
import { readdirSync, readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { extname, join } from "node:path";
import { CONSOLE_PATH, CONTENT_SECURITY_POLICY, INDEX_FILE } from "@herald/console";
import type { ConsoleSessionResponse } from "@herald/protocol";
import type { Scope } from "../config.js";
import type { Principal } from "./auth.js";
import { HttpProblem, sendJson, sendText } from "./problem.js";
import type { Router } from "./router.js";

const MEDIA_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

/** Sent with every console answer. */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
});

interface Asset {
  readonly type: string;
  readonly text: string;
}

export interface ConsoleHosting {
  /** The path the console is served at (`/` lists it). */
  readonly path: string;
}

export interface ConsoleDeps {
  /** Where @herald/console's built page is (its `assetsDir`). */
  readonly assetsDir: string;
  /** Whether the server has API keys. */
  readonly auth: boolean;
  /** The principal of a request's key, without refusing it. */
  readonly identify: (req: IncomingMessage) => "none" | "invalid" | Principal;
}

const SCOPE_ORDER: readonly Scope[] = ["publish", "consume", "admin"];

/**
 * Registers GET /console, GET /console/assets/{file} and GET /console/session when the built assets are
 * in `assetsDir`; undefined (nothing registered) when they are not, e.g. where only `tsc -b` ran.
 */
export function registerConsoleRoutes(router: Router, deps: ConsoleDeps): ConsoleHosting | undefined {
  const { assetsDir } = deps;
  let index: string;
  try {
    index = readFileSync(join(assetsDir, INDEX_FILE), "utf8");
  } catch {
    return undefined;
  }
  const assets = new Map<string, Asset>();
  let names: string[] = [];
  try {
    names = readdirSync(join(assetsDir, "assets"));
  } catch {
    names = [];
  }
  for (const name of names) {
    const type = MEDIA_TYPES[extname(name)];
    if (type === undefined) continue;
    assets.set(name, { type, text: readFileSync(join(assetsDir, "assets", name), "utf8") });
  }
  router.add({
    method: "GET",
    path: CONSOLE_PATH,
    access: "public",
    handler: ({ res }) =>
      sendText(res, 200, MEDIA_TYPES[".html"]!, index, { ...CONSOLE_HEADERS, "cache-control": "no-cache" }),
  });
  router.add({
    method: "GET",
    path: `${CONSOLE_PATH}/assets/:file`,
    access: "public",
    handler: ({ res, params }) => {
      const asset = assets.get(params.file ?? "");
      if (asset === undefined) throw new HttpProblem("route-not-found", `no console asset ${params.file}`);
      // File names carry a content hash: a new build is a new name.
      sendText(res, 200, asset.type, asset.text, {
        ...CONSOLE_HEADERS,
        "cache-control": "public, max-age=31536000, immutable",
      });
    },
  });
  router.add({
    method: "GET",
    path: `${CONSOLE_PATH}/session`,
    access: "public",
    handler: ({ req, res }) => {
      const who = deps.identify(req);
      const scopes = typeof who === "string" ? [] : SCOPE_ORDER.filter((scope) => who.scopes.has(scope));
      const key = !deps.auth ? "none" : typeof who === "string" ? who : "valid";
      sendJson(res, 200, { auth: deps.auth, key, scopes } satisfies ConsoleSessionResponse, {
        "cache-control": "no-store",
      });
    },
  });
  return { path: CONSOLE_PATH };
}
