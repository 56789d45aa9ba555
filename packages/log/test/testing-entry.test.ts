// The contract suite's own input checks: a backend that forgets a flag is told so, instead of
// silently running (or skipping) cases.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createMemoryLog } from "@herald/log";
import { type EventLogFeatures, eventLogContract } from "@herald/log/testing";

test("eventLogContract refuses a missing features object or a flag that is not a boolean", () => {
  const factory = { create: async () => ({ log: createMemoryLog({ retentionIntervalMs: 0 }) }) };
  assert.throws(() => eventLogContract("x", factory, undefined as unknown as EventLogFeatures), {
    name: "TypeError",
    message: /needs a features object/,
  });
  assert.throws(() => eventLogContract("x", factory, {} as EventLogFeatures), {
    name: "TypeError",
    message: /features\.reopen must be true or false/,
  });
});
