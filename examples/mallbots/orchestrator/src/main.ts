import { readConfig, runProcess } from "@mallbots/contracts";
import { startOrchestrator } from "./index.js";

await runProcess("orchestrator", () => startOrchestrator(readConfig()));
