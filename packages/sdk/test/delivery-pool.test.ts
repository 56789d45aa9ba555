// DeliveryPool, the member side every transport shares: concurrency, settle-once, dead letters at
// maxDeliveries (stored before the ack), and drain on close.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type DeadLetter, DeliveryPool, type EngineSettlement, type TransportMessage } from "@herald/sdk";
import { deferred, event } from "./support/events.js";

function engine(log: string[]): EngineSettlement {
  return {
    ack: async () => {
      log.push("ack");
    },
    nack: async (delayMs) => {
      log.push(`nack ${delayMs}`);
    },
  };
}

test("settles once: a second ack or nack is ignored, a throwing handler is nacked", async () => {
  const log: string[] = [];
  const done = deferred();
  let calls = 0;
  const pool = new DeliveryPool(
    async (m) => {
      calls++;
      if (calls === 1) {
        await m.ack();
        await m.ack();
        await m.nack({ delayMs: 5 });
      } else {
        done.resolve();
        throw new Error("boom");
      }
    },
    { topic: "t", maxInFlight: 2 },
  );
  pool.deliver(event(), 1, engine(log));
  pool.deliver(event(), 1, engine(log));
  await done.promise;
  await pool.drain(1_000);
  assert.deepEqual(log, ["ack", "nack 0"]);
});

test("at maxDeliveries a nack stores the dead letter, then acks; past it the handler does not run", async () => {
  const logs: string[][] = [[], [], []];
  const letters: DeadLetter[] = [];
  const ran: number[] = [];
  const pool = new DeliveryPool(
    async (m) => {
      ran.push(m.deliveryCount);
      await m.nack({ error: new Error("cannot") });
    },
    {
      topic: "t",
      maxInFlight: 4,
      maxDeliveries: 3,
      deadLetter: async (letter) => {
        logs[letter.attempt === 3 ? 1 : 2]!.push("dead letter");
        letters.push(letter);
      },
    },
  );
  pool.deliver(event(), 2, engine(logs[0]!));
  pool.deliver(event(), 3, engine(logs[1]!));
  pool.deliver(event(), 7, engine(logs[2]!));
  await pool.drain(1_000);
  assert.deepEqual(ran.sort(), [2, 3]);
  assert.deepEqual(logs, [["nack 0"], ["dead letter", "ack"], ["dead letter", "ack"]]);
  letters.sort((a, b) => a.attempt - b.attempt);
  assert.deepEqual(
    letters.map((l) => [l.reason, l.attempt, l.error.message]),
    [
      ["max-deliveries", 3, "cannot"],
      ["max-deliveries", 7, "delivered 7 times without being settled"],
    ],
  );
});

test("a dead-letter store that fails leaves the message unacked (the engine redelivers it)", async () => {
  const log: string[] = [];
  const errors: string[] = [];
  const pool = new DeliveryPool(async (m) => m.nack(), {
    topic: "t",
    maxInFlight: 1,
    maxDeliveries: 1,
    deadLetter: async () => {
      throw new Error("store down");
    },
    onError: (e) => errors.push(e.message),
  });
  pool.deliver(event(), 1, engine(log));
  await pool.drain(1_000);
  assert.deepEqual(log, []);
  assert.deepEqual(errors, ["store down"]);
});

test("slot() waits for a free slot; drain hands back what is still running after drainMs", async () => {
  const log: string[] = [];
  const held: TransportMessage[] = [];
  const pool = new DeliveryPool(
    async (m) => {
      held.push(m);
      return new Promise<void>(() => undefined);
    },
    { topic: "t", maxInFlight: 1, handBackDelayMs: 25 },
  );
  assert.equal(await pool.slot(), true);
  pool.deliver(event(), 1, engine(log));
  assert.equal(pool.free, 0);
  let freed = false;
  const waiting = pool.slot().then((answer) => {
    freed = true;
    return answer;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(freed, false);
  await pool.drain(10);
  assert.equal(await waiting, false, "slot() answers false once closing");
  assert.deepEqual(log, ["nack 25"]);
  await held[0]!.ack(); // too late: already handed back
  assert.deepEqual(log, ["nack 25"]);
});
