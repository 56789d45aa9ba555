import { readConfig, runProcess } from "@mallbots/contracts";
import { startDepot } from "./index.js";

await runProcess("depot", () => startDepot(readConfig()));
