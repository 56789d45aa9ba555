// The partition assignment every instance computes alike: complete, disjoint, balanced.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { assignedPartitions, partitionOf } from "../src/cluster/partition.js";

describe("cluster partitions", () => {
  it("a stream always maps to the same partition in range", () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 1024 }), (stream, n) => {
        const k = partitionOf(stream, n);
        assert.ok(k >= 0 && k < n && Number.isInteger(k));
        assert.equal(partitionOf(stream, n), k);
      }),
    );
  });

  it("assigns every partition to exactly one member, at most ceil(P/n) each", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,12}$/), { minLength: 2, maxLength: 6 }),
        fc.integer({ min: 1, max: 64 }),
        (members, partitions) => {
          const share = (list: readonly string[]) =>
            new Map(list.map((m) => [m, assignedPartitions(list, m, partitions)]));
          const before = share(members);
          const all = [...before.values()].flat().sort((a, b) => a - b);
          assert.deepEqual(
            all,
            Array.from({ length: partitions }, (_, k) => k),
          );
          for (const owned of before.values())
            assert.ok(owned.length <= Math.ceil(partitions / members.length));
          const [gone, ...rest] = members;
          assert.equal(
            assignedPartitions(rest, gone!, partitions).length,
            0,
            "a member not listed holds none",
          );
        },
      ),
    );
  });
});
