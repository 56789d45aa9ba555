// The Payments process: `READY payments <url>` on stdout once it listens (see runProcess).
import { readConfig, runProcess } from "@mallbots/contracts";
import { startPayments } from "./index.js";

await runProcess("payments", () => startPayments(readConfig()));
