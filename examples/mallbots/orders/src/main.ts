// The Orders process: `node examples/mallbots/orders/dist/src/main.js` (configuration: the MALLBOTS_*
// environment variables of @mallbots/contracts' config.ts).
import { readConfig, runProcess } from "@mallbots/contracts";
import { startOrders } from "./service.js";

await runProcess("orders", () => startOrders(readConfig()));
