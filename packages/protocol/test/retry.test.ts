import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { backoffDelay, parseRetryAfter } from "../src/index.js";

describe("backoff", () => {
  const options = { baseMs: 100, capMs: 1000 };
  it("grows as base·2^(n-1) up to the cap (random just under 1 gives the ceiling)", () => {
    const ceilings = [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, options, () => 0.999999));
    assert.deepEqual(ceilings, [99, 199, 399, 799, 999, 999]);
  });
  it("is full jitter: random 0 gives 0, 0.5 gives half the ceiling", () => {
    assert.equal(
      backoffDelay(3, options, () => 0),
      0,
    );
    assert.equal(
      backoffDelay(3, options, () => 0.5),
      200,
    );
  });
  it("stays within [0, min(cap, base·2^(n-1))) for any attempt, base, cap and random", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 10_000 }),
        fc.integer({ min: 0, max: 3_600_000 }),
        fc.integer({ min: 0, max: 86_400_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, capMs, r) => {
          const delay = backoffDelay(attempt, { baseMs, capMs }, () => r);
          const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 52));
          assert.ok(Number.isInteger(delay));
          assert.ok(delay >= 0 && (delay < ceiling || delay === 0), `${delay} vs ${ceiling}`);
        },
      ),
    );
  });
});

describe("Retry-After", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("reads delta-seconds, capped", () => {
    assert.equal(parseRetryAfter("2", 10_000, now), 2000);
    assert.equal(parseRetryAfter(" 0 ", 10_000, now), 0);
    assert.equal(parseRetryAfter("120", 10_000, now), 10_000);
    assert.equal(parseRetryAfter("120", undefined, now), 120_000);
  });
  it("reads HTTP-dates relative to now (past dates are 0), capped", () => {
    assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:03 GMT", 10_000, now), 3000);
    assert.equal(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", 10_000, now), 0);
    assert.equal(parseRetryAfter("Fri, 02 Jan 2026 00:00:00 GMT", 10_000, now), 10_000);
  });
  it("uses the first of repeated values and ignores absent or unparsable ones", () => {
    assert.equal(parseRetryAfter(["3", "9"], 10_000, now), 3000);
    for (const bad of [undefined, "soon", "-1", "1.5", "", "0x10"]) {
      assert.equal(parseRetryAfter(bad, 10_000, now), undefined, String(bad));
    }
  });
});
