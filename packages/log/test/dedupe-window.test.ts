// The duplicate window against a model: after any sequence of additions, candidates(hash) are
// exactly the positions among the newest `size` whose hash it is.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { DedupeWindow, keyHash, packHashes } from "../src/sqlite/dedupe-window.js";

// The seed is the runner's (HERALD_FC_SEED, printed at the start of every run).
test("the window answers the positions of the newest `size` with a hash, as a model does", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3000 }),
      // Few distinct hashes, so probe chains collide, wrap and shift; batches up to beyond the size.
      fc.array(fc.array(fc.integer({ min: -40, max: 40 }), { maxLength: 4000 }), {
        minLength: 1,
        maxLength: 8,
      }),
      (size, batches) => {
        const window = new DedupeWindow(size);
        const model: number[] = []; // model[i] = hash of position i + 1
        let next = 1;
        for (const batch of batches) {
          window.add(next, batch);
          model.push(...batch);
          next += batch.length;
          const first = Math.max(1, model.length - size + 1);
          if (model.length > 0) assert.equal(window.first, first);
          for (let hash = -40; hash <= 40; hash++) {
            const expected: number[] = [];
            for (let position = first; position <= model.length; position++)
              if (model[position - 1] === hash) expected.push(position);
            assert.deepEqual(
              window.candidates(hash).sort((a, b) => a - b),
              expected,
              `hash ${hash}`,
            );
          }
        }
      },
    ),
    { numRuns: 60 },
  );
});

test("the window refuses a position that does not follow the last one", () => {
  const window = new DedupeWindow(10);
  window.add(5, [1, 2]);
  assert.throws(() => window.add(8, [3]), /does not follow 6/);
});

test("keyHash separates source from id and packHashes round-trips", () => {
  assert.notEqual(keyHash("a", "bc"), keyHash("ab", "c"));
  assert.equal(keyHash("/s", "1"), keyHash("/s", "1"));
  const hashes = [keyHash("/s", "1"), -1, 0, 2 ** 31 - 1, -(2 ** 31)];
  const blob = packHashes(hashes);
  assert.equal(blob.length, 20);
  assert.deepEqual(
    hashes.map((_, i) => blob.readInt32LE(i * 4)),
    hashes,
  );
});
