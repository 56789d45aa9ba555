import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { type Inbox, MemoryInbox, SqliteInbox } from "@herald/sdk";

function contract(name: string, open: (now: () => number) => Inbox): void {
  describe(`${name} inbox`, () => {
    test("claim → in-progress for others → complete → done until the TTL ends", async () => {
      let t = 1_000;
      const inbox = open(() => t);
      assert.equal(await inbox.claim("a", 100), "claimed");
      assert.equal(await inbox.claim("a", 100), "in-progress");
      await inbox.complete("a", 500);
      assert.equal(await inbox.claim("a", 100), "done");
      t += 499;
      assert.equal(await inbox.claim("a", 100), "done");
      t += 1;
      assert.equal(await inbox.claim("a", 100), "claimed", "expired entries can be claimed again");
      await inbox.close?.();
    });

    test("release lets the next delivery claim; an expired lease frees a crashed claim", async () => {
      let t = 0;
      const inbox = open(() => t);
      assert.equal(await inbox.claim("k", 50), "claimed");
      await inbox.release("k");
      assert.equal(await inbox.claim("k", 50), "claimed");
      t = 49;
      assert.equal(await inbox.claim("k", 50), "in-progress");
      t = 50;
      assert.equal(await inbox.claim("k", 50), "claimed");
      assert.equal(await inbox.claim("other", 50), "claimed", "keys are independent");
      await inbox.close?.();
    });
  });
}

contract("memory", (now) => new MemoryInbox({ now }));
contract("sqlite", (now) => new SqliteInbox({ path: ":memory:", now }));

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
