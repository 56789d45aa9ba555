// The inbox contract suite's own input checks: an implementation that forgets a flag is told so.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryInbox } from "@herald/sdk";
import { type InboxFeatures, inboxContract } from "@herald/sdk/testing";

test("inboxContract refuses a missing features object or a flag that is not a boolean", () => {
  const factory = { create: (now: () => number) => ({ inbox: new MemoryInbox({ now }) }) };
  assert.throws(() => inboxContract("x", factory, null as unknown as InboxFeatures), {
    name: "TypeError",
    message: /needs a features object/,
  });
  assert.throws(() => inboxContract("x", factory, { reopen: false } as InboxFeatures), {
    name: "TypeError",
    message: /features\.shared must be true or false/,
  });
});
