import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay, sleep } from "@herald/sdk";

test("backoff doubles from base, is capped, and is full jitter in [0, bound]", () => {
  const opts = { baseMs: 100, capMs: 1_000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, opts, () => 0.999999)),
    [99, 199, 399, 799, 999, 999],
  );
  assert.equal(
    backoffDelay(3, opts, () => 0),
    0,
  );
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(4, opts);
    assert.ok(d >= 0 && d <= 800, `delay ${d} out of [0, 800]`);
  }
});

test("sleep resolves early when its signal aborts", async () => {
  const controller = new AbortController();
  const started = Date.now();
  setTimeout(() => controller.abort(), 20);
  await sleep(5_000, controller.signal);
  assert.ok(Date.now() - started < 1_000);
});
