// Child process for the crash test: a real server on a SQLite data dir, printing its URL when ready.
// Usage: node crash-fixture.js <dataDir>
import { startServer } from "@herald/server";

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write("usage: crash-fixture <dataDir>\n");
  process.exit(2);
}
const server = await startServer({ port: 0, dataDir, logLevel: "silent" });
process.stdout.write(`READY ${server.url}\n`);
