import { createMemoryLog } from "@herald/log";
import { eventLogContract } from "./contract.js";

eventLogContract("memory", {
  create: async () => ({ log: createMemoryLog({ retentionIntervalMs: 0 }) }),
});
