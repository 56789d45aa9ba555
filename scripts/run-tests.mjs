#!/usr/bin/env node
// Runs every compiled test file (packages/*/dist/test/**/*.test.js) with node's test runner.
// Node 20's `node --test` does not expand globs, so the files are listed here.
// Usage: node scripts/run-tests.mjs [package-name ...]   (e.g. `log cloudevents`)
import { spawn } from "node:child_process";
import { readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const only = process.argv.slice(2);
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith(".test.js")) files.push(path);
  }
}
for (const pkg of readdirSync(join(root, "packages"))) {
  if (only.length > 0 && !only.includes(pkg)) continue;
  const testDir = join(root, "packages", pkg, "dist", "test");
  if (existsSync(testDir)) walk(testDir);
}
if (files.length === 0) {
  console.error("no compiled test files found: run `npm run build` first");
  process.exit(1);
}
files.sort();
const child = spawn(
  process.execPath,
  ["--enable-source-maps", "--test", "--test-reporter=spec", "--test-concurrency=2", ...files],
  { stdio: "inherit", env: { ...process.env, HERALD_REPO_ROOT: root } },
);
child.on("exit", (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
