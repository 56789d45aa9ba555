// Child process of the crash test: `herald serve` on a SQLite data dir with one inbound source,
// printing its URL once the source consumes. Usage: node crash-server.js <dataDir> <engine URL | ->
// (`-`: no inbound source; the outbound test creates an engine-sink subscription over HTTP).
import { type EngineBridges, engineBridges } from "@herald/bridges";
import { startServer } from "@herald/server";

const [dataDir, url] = process.argv.slice(2);
if (!dataDir || !url) {
  process.stderr.write("usage: crash-server <dataDir> <engine URL>\n");
  process.exit(2);
}
const factory = engineBridges();
let bridges: EngineBridges | undefined;
const server = await startServer({
  port: 0,
  dataDir,
  logLevel: "silent",
  // Short ack timeout: what the killed server took but never acknowledged comes back quickly.
  inbound: (url === "-" ? [] : [{ url, name: "crash", ackTimeoutMs: 1_000, maxInFlight: 32 }]) as never,
  bridges: (host) => {
    bridges = factory(host);
    return bridges;
  },
});
await bridges!.inboundReady;
process.stdout.write(`READY ${server.url}\n`);
