import { readConfig, runProcess } from "@mallbots/contracts";
import { startAnalytics } from "./index.js";

await runProcess("analytics", () => startAnalytics(readConfig()));
