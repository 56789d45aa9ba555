// findHeadPosition: the newest position, found with one-event reads, whatever the gaps.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { ReadEventsQuery, ReadEventsResponse } from "@herald/protocol";
import type { HeraldClient } from "@herald/sdk";
import { findHeadPosition } from "../src/positions.js";

/** A log with events at `positions` read like the server does: a scan of at most `scanLimit` positions. */
function fakeLog(
  positions: readonly number[],
  scanLimit: number,
): Pick<HeraldClient, "readEvents"> & { reads: number } {
  const sorted = Int32Array.from(positions).sort();
  const head = sorted.at(-1) ?? 0;
  const api = {
    reads: 0,
    async readEvents(options: ReadEventsQuery = {}): Promise<ReadEventsResponse> {
      api.reads++;
      const after = options.after ?? 0;
      const scanEnd = Math.min(after + scanLimit, head);
      const found = firstAbove(sorted, after);
      if (found === undefined || found > scanEnd) return { events: [], next: Math.max(after, scanEnd) };
      return {
        events: [
          {
            position: found,
            stream: "s",
            version: 0,
            recordedAt: found,
            event: { specversion: "1.0", id: String(found), source: "/s", type: "t" },
          },
        ],
        next: found,
      };
    },
  };
  return api;
}

/** The smallest element > value (binary search). */
function firstAbove(sorted: Int32Array, value: number): number | undefined {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] ?? 0) > value) high = middle;
    else low = middle + 1;
  }
  return sorted[low];
}

test("finds the head for any set of positions and scan limit", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.integer({ min: 1, max: 200_000 }), { maxLength: 40 }),
      // Small scan limits make the reads step through gaps; keep the steps few enough to stay fast.
      fc.integer({ min: 500, max: 20_000 }),
      async (positions, scanLimit) => {
        const api = fakeLog(positions, scanLimit);
        assert.equal(await findHeadPosition(api, false), Math.max(0, ...positions));
      },
    ),
    { numRuns: 300 },
  );
});

test("a dense log of a million events takes a few dozen reads, not a scan", async () => {
  const api = fakeLog(
    Array.from({ length: 1_000_000 }, (_, i) => i + 1),
    10_000,
  );
  assert.equal(await findHeadPosition(api, false), 1_000_000);
  assert.ok(api.reads < 60, `${api.reads} reads`);
});
