// Writes the settings table of packages/server/README.md from the setting rows (packages/server/src/settings.ts).
// Run through `npm run docs:settings`, which builds first; `--check` only reports whether the table is current.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withSettingsTable } from "@herald/server";

const readme = fileURLToPath(new URL("../packages/server/README.md", import.meta.url));
const current = readFileSync(readme, "utf8");
const next = withSettingsTable(current);
if (process.argv.includes("--check")) {
  if (next !== current) {
    console.error("packages/server/README.md: the settings table is stale; run `npm run docs:settings`");
    process.exit(1);
  }
} else if (next !== current) {
  writeFileSync(readme, next);
  console.log("packages/server/README.md: settings table updated");
} else console.log("packages/server/README.md: settings table already current");
