#!/usr/bin/env node
// Runs every compiled test file (packages/*/dist/test/**/*.test.js, examples/mallbots/*/dist/test/**) with node's test runner.
// Node 20's `node --test` does not expand globs, so the files are listed here.
// Usage: node scripts/run-tests.mjs [package-name ...]   (e.g. `log cloudevents`, `mallbots/orders`, `mallbots`)
// Property tests: one fast-check seed per run (HERALD_FC_SEED, else random), printed first and handed to
// every test process through scripts/fast-check-preload.mjs.
import { spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseSeed, SEED_ENV } from "./fast-check-seed.mjs";

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
// The product's packages, then the example systems' packages (examples/mallbots/*: name them
// `mallbots/<package>` or `mallbots` for all of them).
const groups = [
  ["packages", ""],
  [join("examples", "mallbots"), "mallbots"],
];
for (const [dir, group] of groups) {
  for (const pkg of readdirSync(join(root, dir))) {
    const name = group === "" ? pkg : `${group}/${pkg}`;
    if (only.length > 0 && !only.includes(name) && !(group !== "" && only.includes(group))) continue;
    const testDir = join(root, dir, pkg, "dist", "test");
    if (existsSync(testDir)) walk(testDir);
  }
}
if (files.length === 0) {
  console.error("no compiled test files found: run `npm run build` first");
  process.exit(1);
}
files.sort();
const fromEnv = process.env[SEED_ENV];
let seed;
try {
  seed = fromEnv !== undefined && fromEnv !== "" ? parseSeed(fromEnv) : randomInt(0, 0x80000000);
} catch (error) {
  console.error(error.message);
  process.exit(2);
}
console.log(`fast-check seed: ${seed} (reproduce: ${SEED_ENV}=${seed} npm test)`);
const preload = new URL("./fast-check-preload.mjs", import.meta.url).href;
const child = spawn(
  process.execPath,
  [
    "--enable-source-maps",
    `--import=${preload}`,
    "--test",
    "--test-reporter=spec",
    "--test-concurrency=2",
    ...files,
  ],
  { stdio: "inherit", env: { ...process.env, HERALD_REPO_ROOT: root, [SEED_ENV]: String(seed) } },
);
child.on("exit", (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
