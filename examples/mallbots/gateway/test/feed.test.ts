// The gateway's fan-out: every open stream gets what it accepts, from the moment it subscribed; a
// stream ends when its signal aborts or return() is called; one that falls too far behind ends with
// a retryable error instead of holding items without bound.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RetryableError } from "@herald/sdk";
import { Feed } from "../src/feed.js";

async function take<T>(iterator: AsyncIterator<T>, n: number): Promise<T[]> {
  const items: T[] = [];
  for (let i = 0; i < n; i++) {
    const next = await iterator.next();
    if (next.done) break;
    items.push(next.value);
  }
  return items;
}

describe("Feed", () => {
  it("hands each item to every stream that accepts it, from subscription on", async () => {
    const feed = new Feed<number>();
    feed.publish(0); // nobody listens: gone
    const all = feed.subscribe(new AbortController().signal);
    const even = feed.subscribe(new AbortController().signal, (n) => n % 2 === 0);
    for (let n = 1; n <= 6; n++) feed.publish(n);
    assert.deepEqual(await take(all, 6), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(await take(even, 3), [2, 4, 6]);
    assert.equal(feed.size, 2);
  });

  it("ends a waiting stream when its signal aborts, and one whose return() is called", async () => {
    const feed = new Feed<number>();
    const aborted = new AbortController();
    const first = feed.subscribe(aborted.signal);
    const second = feed.subscribe(new AbortController().signal);
    const waiting = first.next();
    aborted.abort();
    assert.deepEqual(await waiting, { done: true, value: undefined });
    await second.return?.();
    assert.deepEqual(await second.next(), { done: true, value: undefined });
    assert.equal(feed.size, 0);
    feed.publish(1); // no one left: nothing held
  });

  it("ends a stream that falls 1 000 items behind with a RetryableError", async () => {
    const feed = new Feed<number>();
    const slow = feed.subscribe(new AbortController().signal);
    for (let n = 1; n <= 1_001; n++) feed.publish(n);
    const held = await take(slow, 1_000);
    assert.equal(held.length, 1_000);
    assert.equal(held.at(-1), 1_000);
    await assert.rejects(slow.next(), RetryableError);
    assert.equal(feed.size, 0);
  });
});
