// Child-process broker for tests: starts Herald on a free port with a memory log, prints
// {"url": …} on one line, and closes gracefully on SIGTERM.
import { startServer } from "@herald/server";

const server = await startServer({
  port: 0,
  memory: true,
  logLevel: "silent",
  sinks: { allowPrivateNetworks: true },
  shutdownDrainMs: 1_000,
});
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.once("SIGTERM", () => {
  void server.close().then(() => process.exit(0));
});
