// sqliteInboxIn: the inbox record commits or rolls back with the handler's own change, so a
// redelivered event is skipped once its handling committed, and handled again if it rolled back.
import assert from "node:assert/strict";
import { test } from "node:test";
import { inboxKey, sqliteInboxIn } from "@herald/sdk";
import Database from "better-sqlite3";

test("sqliteInboxIn: same transaction as the handler's change; rollback forgets; TTL; forget by prefix", () => {
  const db = new Database(":memory:");
  let now = 1_000;
  const inbox = sqliteInboxIn(db, { ttlMs: 100, now: () => now });
  db.exec("CREATE TABLE balance (id TEXT PRIMARY KEY, amount INTEGER NOT NULL)");
  db.prepare("INSERT INTO balance VALUES ('a', 0)").run();
  const event = { source: "urn:bank", id: "deposit-1" };
  const handle = db.transaction((fail: boolean) => {
    if (!inbox.firstTime(inboxKey(event))) return "skipped";
    db.prepare("UPDATE balance SET amount = amount + 10 WHERE id = 'a'").run();
    if (fail) throw new Error("crash before commit");
    return "applied";
  });
  const amount = () => (db.prepare("SELECT amount FROM balance").get() as { amount: number }).amount;
  assert.throws(() => handle(true));
  assert.equal(amount(), 0, "rolled back: neither the change nor the record");
  assert.equal(handle(false), "applied");
  assert.equal(handle(false), "skipped", "the redelivery is skipped");
  assert.equal(amount(), 10);
  now += 100;
  assert.equal(handle(false), "applied", "an expired record no longer holds");
  assert.throws(() => inbox.firstTime("k"), /inside a transaction/);
  db.transaction(() => inbox.firstTime("p/1"))();
  assert.equal(inbox.forget("p/"), 1);
  now += 1_000;
  assert.equal(inbox.sweep(), 1);
  db.close();
});
