import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { MemoryInbox, SqliteInbox } from "@herald/sdk";
import { inboxContract } from "@herald/sdk/testing";

const dir = mkdtempSync(join(tmpdir(), "herald-inbox-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

inboxContract(
  "memory",
  { create: (now) => ({ inbox: new MemoryInbox({ now }) }) },
  { reopen: false, shared: false },
);
inboxContract(
  "sqlite",
  {
    create: (now) => {
      files += 1;
      const path = join(dir, `inbox-${files}.db`);
      const inbox = new SqliteInbox({ path, now });
      return {
        inbox,
        reopen: () => {
          inbox.close();
          return new SqliteInbox({ path, now });
        },
        connect: () => new SqliteInbox({ path, now }),
      };
    },
  },
  { reopen: true, shared: true },
);
inboxContract(
  "sqlite (:memory:)",
  { create: (now) => ({ inbox: new SqliteInbox({ path: ":memory:", now }) }) },
  { reopen: false, shared: false },
);

test("the memory inbox stays bounded, evicting oldest first", async () => {
  const inbox = new MemoryInbox({ maxEntries: 3 });
  for (const k of ["a", "b", "c", "d"]) await inbox.complete(k, 60_000);
  assert.equal(inbox.size, 3);
  assert.equal(await inbox.claim("a", 10), "claimed");
  assert.equal(await inbox.claim("d", 10), "done");
});

test("the sqlite inbox survives a reopen and sweeps expired rows", async () => {
  const dir = mkdtempSync(join(tmpdir(), "herald-inbox-"));
  try {
    let t = 0;
    const path = join(dir, "inbox.db");
    const first = new SqliteInbox({ path, now: () => t });
    await first.complete("done-key", 100);
    await first.complete("old-key", 10);
    first.close();
    const second = new SqliteInbox({ path, now: () => t });
    assert.equal(await second.claim("done-key", 10), "done");
    t = 20;
    assert.equal(second.sweep(), 1);
    assert.equal(await second.claim("old-key", 10), "claimed");
    second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
