// The log's identity across a backup and restore (SQLite): a copy of the file is a new epoch of the
// same log, starting at the head it holds; a reopen of the same file is not.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { checkpointStaleness, openSqliteLog } from "@herald/log";
import { testEvent } from "@herald/log/testing";
import Database from "better-sqlite3";

const dir = mkdtempSync(join(tmpdir(), "herald-identity-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("log identity (SQLite)", () => {
  it("a backup (backup API) restored to a new file is the same log in a new epoch at its head", async () => {
    const path = join(dir, "live.db");
    // checkpoint "background" lets other connections read the live file (the default locks it).
    const live = openSqliteLog({ path, checkpoint: "background" });
    await live.append([testEvent(), testEvent(), testEvent()]);
    const first = await live.identity();
    assert.equal(first.epochStart, 0);
    // The backup API, while the log is open (the copy holds positions 1–3).
    const backup = new Database(path, { readonly: true });
    await backup.backup(join(dir, "backup.db"));
    backup.close();
    await live.append([testEvent(), testEvent()]);
    await live.close();

    const reopened = openSqliteLog({ path, checkpoint: "background" });
    assert.deepEqual(await reopened.identity(), first, "the same file: the same epoch");
    await reopened.close();

    const restored = openSqliteLog({ path: join(dir, "backup.db") });
    const identity = await restored.identity();
    assert.equal(identity.id, first.id, "a restore is the same log");
    assert.notEqual(identity.epoch, first.epoch, "…in a new epoch");
    assert.equal(identity.previousEpoch, first.epoch);
    assert.equal(identity.epochStart, 3, "the epoch starts at the head the backup holds");
    // A checkpoint stored at 5 in the first epoch is stale here, even once the head passes it again.
    await restored.append([testEvent(), testEvent(), testEvent()]);
    assert.equal(checkpointStaleness({ id: first.id, epoch: first.epoch }, 5, identity, 6), "ahead");
    assert.equal(checkpointStaleness({ id: first.id, epoch: first.epoch }, 3, identity, 6), undefined);
    assert.equal(checkpointStaleness({ id: "another", epoch: first.epoch }, 1, identity, 6), "foreign");
    await restored.close();
    assert.deepEqual((await reopenIdentity(join(dir, "backup.db"))).epoch, identity.epoch);
  });

  it("a plain file copy of a closed log is detected too", async () => {
    const path = join(dir, "closed.db");
    const log = openSqliteLog({ path });
    await log.append([testEvent()]);
    const first = await log.identity();
    await log.close();
    copyFileSync(path, join(dir, "copy.db"));
    const copy = await reopenIdentity(join(dir, "copy.db"));
    assert.equal(copy.id, first.id);
    assert.notEqual(copy.epoch, first.epoch);
    assert.equal(copy.epochStart, 1);
  });
});

async function reopenIdentity(path: string) {
  const log = openSqliteLog({ path });
  try {
    return await log.identity();
  } finally {
    await log.close();
  }
}
