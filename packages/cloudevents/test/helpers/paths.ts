// Where the conformance data lives: `<repo>/conformance` (copied from the CloudEvents project).
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** `HERALD_REPO_ROOT` (set by scripts/run-tests.mjs), else the nearest directory above this file holding `.ci/`. */
export function repoRoot(): string {
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

/** `<repoRoot>/conformance`. */
export function conformanceDir(): string {
  const dir = join(repoRoot(), "conformance");
  if (!existsSync(dir)) throw new Error(`conformance data not found at ${dir}`);
  return dir;
}
