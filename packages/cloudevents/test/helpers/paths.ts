// Where the shared conformance data lives (never copied into the repo).
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

function findRepoRoot(): string {
  const fromEnv = process.env["HERALD_REPO_ROOT"];
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, ".ci"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("repository root (the directory holding .ci/) not found");
    dir = parent;
  }
}

/** `HERALD_CONFORMANCE_DIR`, else `<repoRoot>/../shared/conformance`. */
export function conformanceDir(): string {
  const fromEnv = process.env["HERALD_CONFORMANCE_DIR"];
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  return resolve(findRepoRoot(), "..", "shared", "conformance");
}
