// The server's version: the `version` of @herald/server's package.json, read once at load. The file is
// found by walking up from this module, so the answer is the same from src (tests) and dist (installs).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === "@herald/server" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // no package.json at this level: keep walking up
    }
    dir = dirname(dir);
  }
  throw new Error("@herald/server: package.json not found next to the code");
}

/** `0.1.0`: what `GET /`, `/healthz`, `/readyz` and the `Herald-Version` header report. */
export const SERVER_VERSION: string = readVersion();
