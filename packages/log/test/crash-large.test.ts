// The crash test on a large log (HERALD_LARGE_TESTS=1; HERALD_CRASH_EVENTS sets the size, default
// 2 000 000): the log is filled first, then a writer appending under concurrent load — resending
// events from anywhere in the prefilled part too — is SIGKILLed a few times. Each reopen rebuilds
// the duplicate window from dedupe_keys; the checks are crash.test.ts's, over the whole log, plus
// every resent prefilled event answered as a duplicate at its original position.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openSqliteLog } from "@herald/log";
import { runAndKill, verify } from "./support/crash.js";
import { testEvent } from "./support/events.js";

const enabled = process.env.HERALD_LARGE_TESTS === "1";
const EVENTS = Number(process.env.HERALD_CRASH_EVENTS ?? 2_000_000);
const ROUNDS = 4;
const dir = mkdtempSync(join(tmpdir(), "herald-crash-large-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test(`crash at scale: ${ROUNDS} SIGKILLs after ${EVENTS.toLocaleString("en")} events lose nothing acknowledged`, {
  skip: enabled ? false : "set HERALD_LARGE_TESTS=1 (takes minutes)",
  timeout: 30 * 60_000,
}, async (t) => {
  const path = join(dir, "crash-large.db");
  const acked = new Map<string, number>();
  const fill = openSqliteLog({ path, durability: "normal", retentionIntervalMs: 0 });
  const pad = "x".repeat(200);
  for (let start = 0; start < EVENTS; start += 5000) {
    const batch = Array.from({ length: Math.min(5000, EVENTS - start) }, (_, i) => {
      const k = start + i;
      return testEvent({
        source: `/pre/${k % 100}`,
        id: `pre-${k}`,
        partitionkey: `key-${k % 10_000}`,
        data: { pad },
      });
    });
    for (const result of await fill.append(batch))
      acked.set(`${result.source} ${result.id}`, result.position);
  }
  await fill.close();
  let lastHead = EVENTS;
  let resent = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Killed 1–3 s after its first acknowledgement (opening the log rebuilds the window first).
    const acks = await runAndKill(path, round, 1000 + Math.random() * 2000, false, [String(EVENTS)], 60_000);
    assert.ok(acks.length > 0, `round ${round} acknowledged appends`);
    for (const ack of acks) {
      const key = `${ack.source} ${ack.id}`;
      const known = acked.get(key);
      if (known !== undefined) assert.equal(ack.position, known, `${key} keeps its position`);
      else acked.set(key, ack.position);
      if (ack.id.startsWith("pre-")) resent += 1;
    }
    const head = await verify(path, acked);
    assert.ok(head >= lastHead, "the log never shrinks");
    lastHead = head;
  }
  assert.ok(resent > 0, "prefilled events were resent");
  t.diagnostic(`${acked.size} distinct events; ${resent} resends of prefilled events; head ${lastHead}`);
});
