// @herald/console: the web console's built assets and what a host must send with them. The page itself
// (app/, Preact) is bundled by Vite into dist/console at build time (`npm run build`); this entry only
// tells a server where those files are, so it never reaches into this package's folders by itself.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Absolute path of the built console: `index.html` and `assets/` (hashed, immutable file names). */
export const assetsDir: string = fileURLToPath(new URL("../console/", import.meta.url));

/** The page every console path answers (the views are routed in the URL's fragment). */
export const INDEX_FILE = "index.html";

/** The path the assets were built for: Vite's `base`, so the page's script and style URLs start with it. */
export const CONSOLE_PATH = "/console";

/**
 * The Content-Security-Policy the page is built to run under: no inline script or style, no eval, no other
 * origin, not framed. The page talks only to the API of the server that hosts it.
 */
export const CONTENT_SECURITY_POLICY: string = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Whether the assets were built (a checkout where only `tsc -b` ran has the entry but not the page). */
export function assetsBuilt(): boolean {
  return existsSync(`${assetsDir}${INDEX_FILE}`);
}
