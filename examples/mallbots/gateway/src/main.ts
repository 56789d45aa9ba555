// The gateway process: `READY gateway <url>` on stdout once it listens (see runProcess).
import { readConfig, runProcess } from "@mallbots/contracts";
import { startGateway } from "./index.js";

await runProcess("gateway", () => startGateway(readConfig()));
