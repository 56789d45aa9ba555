// Crash test: a child appends under concurrent load and the parent SIGKILLs it at random
// moments. After every kill the log must reopen with every acknowledged append in place,
// positions gapless from 1 to the head, nothing duplicated and no torn row.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runAndKill, verify } from "./support/crash.js";

const ROUNDS = 24;
const dir = mkdtempSync(join(tmpdir(), "herald-crash-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test(`crash: ${ROUNDS} SIGKILLs under concurrent appends lose nothing acknowledged`, async (t) => {
  const path = join(dir, "crash.db");
  const acked = new Map<string, number>();
  let roundsWithAcks = 0;
  let lastHead = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Every fourth round dies at a random moment after spawn, maybe before or while opening the log.
    const fromSpawn = round % 4 === 3;
    const acks = await runAndKill(
      path,
      round,
      Math.floor(Math.random() * (fromSpawn ? 400 : 250)),
      fromSpawn,
    );
    if (acks.length > 0) roundsWithAcks += 1;
    for (const ack of acks) {
      const key = `${ack.source} ${ack.id}`;
      const known = acked.get(key);
      if (known !== undefined) assert.equal(ack.position, known, `${key} keeps its position`);
      else acked.set(key, ack.position);
    }
    const head = await verify(path, acked);
    assert.ok(head >= lastHead, "the log never shrinks");
    lastHead = head;
  }
  assert.ok(roundsWithAcks >= ROUNDS / 2, `most rounds acknowledged appends (${roundsWithAcks})`);
  assert.ok(acked.size > 0);
  t.diagnostic(
    `${roundsWithAcks} rounds acknowledged appends; ${acked.size} distinct events acknowledged; head ${lastHead}`,
  );
});
