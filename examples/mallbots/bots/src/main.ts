// The bots' process: READY once every bot is connected (the launcher waits for it); SIGTERM closes
// their sockets (the gateway then tells Depot they are offline).
import { readBotsOptions, startBots } from "./index.js";

const options = readBotsOptions();
const bots = startBots(options);
await bots.connected;
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await bots.stop();
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());
process.stdout.write(`READY bots ${options.gatewayUrl}\n`);
