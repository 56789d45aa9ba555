// The MemoryInbox against a plain model (a Map re-inserted on every write, oldest evicted first), on
// random operation sequences: same answers, same size, never above the bound.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryInbox } from "@herald/sdk";
import fc from "fast-check";

type Op =
  | { op: "claim"; key: string; leaseMs: number }
  | { op: "complete"; key: string; ttlMs: number }
  | { op: "release"; key: string }
  | { op: "tick"; ms: number };

class Model {
  readonly entries = new Map<string, { done: boolean; expiresAt: number }>();
  constructor(
    readonly max: number,
    readonly now: () => number,
  ) {}
  set(key: string, done: boolean, expiresAt: number): void {
    this.entries.delete(key);
    this.entries.set(key, { done, expiresAt });
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
  claim(key: string, leaseMs: number): string {
    const e = this.entries.get(key);
    if (e && e.expiresAt > this.now()) return e.done ? "done" : "in-progress";
    this.set(key, false, this.now() + leaseMs);
    return "claimed";
  }
}

const key = fc.constantFrom("a", "b", "c", "d", "e", "f", "g");
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("claim" as const), key, leaseMs: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ op: fc.constant("complete" as const), key, ttlMs: fc.integer({ min: 1, max: 100 }) }),
  fc.record({ op: fc.constant("release" as const), key }),
  fc.record({ op: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 40 }) }),
);

test("MemoryInbox behaves like the model on random operation sequences", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 200 }), async (max, ops) => {
      let t = 1_000;
      const inbox = new MemoryInbox({ maxEntries: max, now: () => t });
      const model = new Model(max, () => t);
      for (const o of ops) {
        if (o.op === "tick") t += o.ms;
        else if (o.op === "claim")
          assert.equal(await inbox.claim(o.key, o.leaseMs), model.claim(o.key, o.leaseMs));
        else if (o.op === "complete") {
          await inbox.complete(o.key, o.ttlMs);
          model.set(o.key, true, t + o.ttlMs);
        } else {
          await inbox.release(o.key);
          model.entries.delete(o.key);
        }
        assert.equal(inbox.size, model.entries.size);
        assert.ok(inbox.size <= max);
      }
    }),
    { numRuns: 300 },
  );
});

test("re-remembering a key with the same expiry moves it to the young end", async () => {
  const t = 5_000;
  const inbox = new MemoryInbox({ maxEntries: 2, now: () => t });
  await inbox.complete("a", 100);
  await inbox.complete("b", 100);
  await inbox.complete("a", 100); // same ms, same TTL: same expiry as its first write
  await inbox.complete("c", 100); // evicts the oldest: b
  assert.equal(await inbox.claim("a", 10), "done");
  assert.equal(await inbox.claim("b", 10), "claimed");
});

test("the memory inbox's bookkeeping stays bounded when keys are released and rewritten forever", async () => {
  const inbox = new MemoryInbox({ maxEntries: 10 });
  for (let i = 0; i < 50_000; i++) {
    await inbox.claim("poison", 1_000); // a handling that keeps failing…
    await inbox.release("poison"); // …is released every time
    await inbox.complete(`k${i % 5}`, 60_000);
  }
  assert.equal(inbox.size, 5);
  assert.equal(await inbox.claim("k3", 10), "done");
  assert.ok(inbox.trackedWrites <= 2 * 10 + 1024 + 1, `${inbox.trackedWrites} writes tracked`);
});
