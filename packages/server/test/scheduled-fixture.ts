// Child process for the scheduled crash tests: a real server printing its URL when ready.
// Usage: node scheduled-fixture.js sqlite <dataDir> | postgres <databaseUrl> <schema> [nodeId]
import { type StartServerOptions, startServer } from "@herald/server";

const [storage, where, schema, nodeId] = process.argv.slice(2);

function options(): StartServerOptions {
  if (storage === "sqlite" && where !== undefined) return { dataDir: where };
  if (storage === "postgres" && where !== undefined && schema !== undefined)
    return {
      storage: "postgres",
      database: { url: where, schema },
      ...(nodeId !== undefined ? { nodeId } : {}),
      cluster: { partitions: 4, leaseMs: 900 },
    };
  process.stderr.write("usage: scheduled-fixture sqlite <dir> | postgres <url> <schema> [nodeId]\n");
  process.exit(2);
}

const server = await startServer({ port: 0, logLevel: "silent", ...options() });
process.stdout.write(`READY ${server.url}\n`);
