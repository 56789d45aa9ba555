import { createMemoryLog } from "@herald/log";
import { eventLogContract } from "@herald/log/testing";

eventLogContract(
  "memory",
  { create: async () => ({ log: createMemoryLog({ retentionIntervalMs: 0 }) }) },
  { reopen: false },
);
