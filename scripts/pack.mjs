#!/usr/bin/env node
// Packs every workspace package into a tarball that installs without the checkout:
//   npm run pack                      → tarballs in ./dist/packages (builds first)
//   node scripts/pack.mjs --out <dir> → same, into <dir>, without building
// Then, in any folder: npm install <dir>/*.tgz   (see "Install" in the README).
// Before packing it checks what would break such an install: a sibling dependency whose range the
// sibling's version does not satisfy, a package that misses its entry points or ships its tests; and it
// warns about compiled files whose source is gone.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
if (args.some((arg, i) => arg !== "--out" && i !== outIndex + 1) || (outIndex >= 0 && !args[outIndex + 1])) {
  console.error("usage: node scripts/pack.mjs [--out <dir>]");
  process.exit(2);
}
const out = resolve(outIndex >= 0 ? args[outIndex + 1] : join(root, "dist", "packages"));

const rootManifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
// The product's packages only: the example systems (examples/…) are private workspaces, never published.
const packages = rootManifest.workspaces
  .filter((dir) => dir.startsWith("packages/"))
  .map((dir) => ({
    dir,
    manifest: JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")),
  }));
const versions = new Map(packages.map(({ manifest }) => [manifest.name, manifest.version]));

const problems = [];
for (const { dir, manifest } of packages) {
  for (const field of ["dependencies", "peerDependencies"]) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      const version = versions.get(name);
      if (version === undefined) continue;
      // Siblings are released together: the range is the sibling's version, exact or with a caret.
      if (range !== version && range !== `^${version}`) {
        problems.push(`${dir}: ${field}.${name} is "${range}", not "^${version}" (the version packed here)`);
      }
    }
  }
  const entries = [manifest.main, ...Object.values(manifest.bin ?? {})];
  for (const entry of Object.values(manifest.exports ?? {})) {
    if (typeof entry === "string") entries.push(entry);
    else entries.push(entry.types, entry.default);
  }
  for (const entry of entries.filter(Boolean)) {
    if (!existsSync(join(root, dir, entry))) problems.push(`${dir}: ${entry} does not exist (build first)`);
  }
  // Built folders a package ships (the console's page): a tarball without them would install but not work.
  for (const entry of (manifest.files ?? []).filter((file) => file.startsWith("dist/"))) {
    if (!existsSync(join(root, dir, entry))) problems.push(`${dir}: ${entry} does not exist (npm run build)`);
  }
}
if (problems.length > 0) {
  console.error(`pack: not packing, ${problems.length} problem(s):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}

mkdirSync(out, { recursive: true });
const packed = JSON.parse(
  execFileSync(
    "npm",
    ["pack", "--json", ...packages.flatMap(({ dir }) => ["--workspace", dir]), "--pack-destination", out],
    {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    },
  ),
);
const strays = [];
for (const { name, files } of packed) {
  const paths = new Set(files.map((file) => file.path));
  // Tests, compiled or not, and build state stay out of the tarballs.
  const stray = [...paths].filter((path) => /(^|\/)test\/|\.tsbuildinfo$/.test(path));
  if (stray.length > 0) strays.push(`${name} ships files it should not: ${stray.join(", ")}`);
  // Compiled output whose source is gone (tsc -b never deletes it): dead code, worth a warning only.
  const stale = [...paths].filter((path) => {
    const source = path.match(/^dist\/(src\/.*)\.js$/)?.[1];
    return source !== undefined && !paths.has(`${source}.ts`) && !paths.has(`${source}.tsx`);
  });
  if (stale.length > 0) {
    console.error(
      `pack: warning: ${name} ships stale build output (${stale.join(", ")}); for clean tarballs:`,
    );
    console.error("  rm -rf packages/*/dist && npm run pack");
  }
}
if (strays.length > 0) {
  for (const { filename } of packed) rmSync(join(out, filename), { force: true });
  console.error(`pack: tarballs removed, ${strays.join("; ")}`);
  process.exit(1);
}
for (const { filename } of packed) console.log(join(out, filename));
