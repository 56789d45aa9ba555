// Crash test: a child process appends under concurrent load (transactions held open a little before
// COMMIT) and is SIGKILLed at a random moment. Each time the log must reopen with every acknowledged
// event in place exactly once at its acknowledged position, and positions gapless from 1 to the head.
import assert from "node:assert/strict";
import { test } from "node:test";
import { openPostgresLog } from "@herald/log-postgres";
import { connection, freshSchema, needsPostgres } from "./support/pg.js";
import { sleep } from "./support/events.js";
import { startWriter } from "./support/writers.js";

const ROUNDS = 4;

test(`crash: ${ROUNDS} SIGKILLs under concurrent appends lose nothing acknowledged`, {
  ...needsPostgres,
  timeout: 120_000,
}, async (t) => {
  const schema = freshSchema();
  const acked = new Map<string, number>();
  let lastHead = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const writer = startWriter(schema, 100 + round, "forever", 3);
    await writer.opened;
    // Wait for some acks, then kill at a random moment.
    let ended = false;
    void writer.exited.then(() => {
      ended = true;
    });
    while (writer.acks.length < 20 && !ended) await sleep(5);
    assert.equal(ended, false, "the writer runs until killed");
    await sleep(Math.random() * 150);
    writer.child.kill("SIGKILL");
    const exit = await writer.exited;
    assert.equal(exit.signal, "SIGKILL");
    for (const ack of writer.acks) acked.set(`${ack.source} ${ack.id}`, ack.position);

    const log = await openPostgresLog({ connection, schema, retentionIntervalMs: 0 });
    try {
      const head = await log.headPosition();
      assert.ok(head >= lastHead, "the log never shrinks");
      const found = new Map<string, number>();
      let after = 0;
      for (;;) {
        const page = await log.read({ after, limit: 1000 });
        if (page.events.length === 0) break;
        for (const stored of page.events) {
          assert.equal(stored.position, after + 1, "gapless");
          after = stored.position;
          const key = `${stored.event.source} ${stored.event.id}`;
          assert.equal(found.has(key), false, `${key} stored once`);
          found.set(key, stored.position);
        }
      }
      assert.equal(after, head, "every position up to the head holds an event");
      for (const [key, position] of acked)
        assert.equal(found.get(key), position, `${key} acked at ${position}`);
      lastHead = head;
    } finally {
      await log.close();
    }
  }
  t.diagnostic(`${acked.size} events acknowledged across ${ROUNDS} kills; head ${lastHead}`);
});
