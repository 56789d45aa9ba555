// The Stores process: `READY stores <url>` on stdout once it listens (see runProcess).
import { readConfig, runProcess } from "@mallbots/contracts";
import { startStores } from "./index.js";

await runProcess("stores", () => startStores(readConfig(), { seed: process.env["MALLBOTS_SEED"] !== "0" }));
