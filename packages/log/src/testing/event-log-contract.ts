// The contract every EventLog backend passes, shipped as library code (`@herald/log/testing`): a
// backend's test file runs it in one line, `eventLogContract(name, factory, features)`, and opts out
// of a case only through a named flag of `EventLogFeatures`.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { LogClosedError, LogInputError, StreamDeletedError, VersionConflictError } from "../errors.js";
import type { AppendResult, EventLog, StoredEvent } from "../event-log.js";
import { sleep, testEvent } from "./events.js";

/** Creates the logs the suite runs against. */
export interface EventLogFactory {
  /** A fresh, empty log, on storage no other case uses. Called once per case. */
  create(): Promise<OpenedLog>;
}

export interface OpenedLog {
  readonly log: EventLog;
  /**
   * Closes `log` and opens the same storage again. Required when `features.reopen` is true; the
   * suite closes the returned log after the case.
   */
  readonly reopen?: () => Promise<EventLog>;
}

/**
 * What the backend can do beyond the core contract. Every flag is required, so a backend says
 * explicitly what it opts out of; a case that needs a capability is skipped (and reported as
 * skipped) when its flag is false.
 */
export interface EventLogFeatures {
  /**
   * The storage outlives the log: after `close()`, opening it again finds events, positions,
   * versions, tombstones, dedupe keys, checkpoints and metadata in place. False for in-memory logs.
   */
  readonly reopen: boolean;
}

async function readAll(log: EventLog, after = 0): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for (;;) {
    const page = await log.read({ after, limit: 1000 });
    out.push(...page.events);
    if (page.events.length === 0) return out;
    after = page.next;
  }
}

function assertGapless(positions: readonly number[], from = 1): void {
  assert.deepEqual(
    positions,
    Array.from({ length: positions.length }, (_, index) => from + index),
  );
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected a rejection");
}

/**
 * Defines the suite with node:test's `describe`/`it` when called, so call it at the top level of a
 * test file: the cases report under that file.
 */
export function eventLogContract(name: string, factory: EventLogFactory, features: EventLogFeatures): void {
  checkFeatures(features);
  const unless = (flag: keyof EventLogFeatures): { skip?: string } =>
    features[flag] ? {} : { skip: `features.${flag} is false` };
  describe(`EventLog contract: ${name}`, () => {
    const opened: EventLog[] = [];
    const open = async (): Promise<OpenedLog> => {
      const result = await factory.create();
      opened.push(result.log);
      return result;
    };
    afterEach(async () => {
      for (const log of opened.splice(0)) await log.close();
    });

    it("appends in order: positions from 1, versions per derived stream, stored JSON", async () => {
      const { log } = await open();
      const results = await log.append([
        testEvent({ source: "/a", partitionkey: "pk-1", subject: "ignored", data: { n: 1 } }),
        testEvent({ source: "/a", subject: "subj-1" }),
        testEvent({ source: "/a" }),
        testEvent({ source: "/b", partitionkey: "pk-1" }),
      ]);
      assert.deepEqual(
        results.map((r) => [r.position, r.stream, r.version, r.duplicate]),
        [
          [1, "pk-1", 0, false],
          [2, "subj-1", 0, false],
          [3, "/a", 0, false],
          [4, "pk-1", 1, false],
        ],
      );
      assert.equal(await log.headPosition(), 4);
      const page = await log.read();
      assert.deepEqual(
        page.events.map((e) => e.position),
        [1, 2, 3, 4],
      );
      assert.equal(page.next, 4);
      const first = page.events[0]!;
      assert.equal(first.event.id, results[0]!.id);
      assert.deepEqual((first.event as unknown as { data: unknown }).data, { n: 1 });
      assert.equal(JSON.parse(first.json).id, results[0]!.id);
      assert.equal(first.event, first.event, "the decoded event is cached");
      assert.ok(first.event instanceof CloudEvent);
      assert.equal(first.event["partitionkey"], "pk-1");
      assert.ok(Math.abs(first.recordedAt - Date.now()) < 60_000);
    });

    it("appends to a named stream with expected versions and reports the actual version on conflict", async () => {
      const { log } = await open();
      const r1 = await log.append([testEvent(), testEvent()], {
        stream: "order-1",
        expectedVersion: "no-stream",
      });
      assert.deepEqual(
        r1.map((r) => [r.stream, r.version]),
        [
          ["order-1", 0],
          ["order-1", 1],
        ],
      );
      await log.append([testEvent()], { stream: "order-1", expectedVersion: 1 });
      await log.append([testEvent()], { stream: "order-1", expectedVersion: "exists" });
      await log.append([testEvent()], { stream: "order-1", expectedVersion: "any" });

      const conflict = await rejection(log.append([testEvent()], { stream: "order-1", expectedVersion: 1 }));
      assert.ok(conflict instanceof VersionConflictError);
      assert.equal(conflict.stream, "order-1");
      assert.equal(conflict.expected, 1);
      assert.equal(conflict.actual, 4);

      const noStream = await rejection(
        log.append([testEvent()], { stream: "order-1", expectedVersion: "no-stream" }),
      );
      assert.ok(noStream instanceof VersionConflictError);
      assert.equal(noStream.actual, 4);

      const missing = await rejection(
        log.append([testEvent()], { stream: "order-2", expectedVersion: "exists" }),
      );
      assert.ok(missing instanceof VersionConflictError);
      assert.equal(missing.actual, -1);

      // The whole batch was rejected: nothing stored, no position used.
      assert.equal(await log.headPosition(), 5);
      const next = await log.append([testEvent()], { stream: "order-2", expectedVersion: -1 });
      assert.equal(next[0]!.position, 6);
      assert.equal(next[0]!.version, 0);
    });

    it("rejects bad input with LogInputError", async () => {
      const { log } = await open();
      await assert.rejects(log.append([testEvent()], { expectedVersion: 0 }), LogInputError);
      await assert.rejects(log.append([testEvent()], { stream: "" }), LogInputError);
      await assert.rejects(log.append([testEvent()], { stream: "s", expectedVersion: 1.5 }), LogInputError);
      // Not a valid CloudEvent (the model would refuse to build it): the log checks anyway.
      const noId = { specversion: "1.0", id: "", source: "/x", type: "t" } as unknown as CloudEvent;
      await assert.rejects(log.append([noId]), LogInputError);
      await assert.rejects(log.append([null as unknown as CloudEvent]), LogInputError);
      const noType = { specversion: "1.0", id: "x", source: "/x" } as unknown as CloudEvent;
      await assert.rejects(log.append([noType]), LogInputError);
      await assert.rejects(log.read({ limit: 0 }), LogInputError);
      await assert.rejects(log.read({ after: -1 }), LogInputError);
      await assert.rejects(log.readStream("s", { direction: "sideways" as "forwards" }), LogInputError);
      assert.throws(() => log.setRetention([{ streamPrefix: "x" }]), LogInputError);
      assert.deepEqual(await log.append([]), []);
      assert.equal(await log.headPosition(), 0);
    });

    it("concurrent writers racing on one stream: exactly one wins each version", async () => {
      const { log } = await open();
      const writers = 8;
      for (let version = 0; version < 12; version++) {
        const attempts = await Promise.allSettled(
          Array.from({ length: writers }, (_, w) =>
            log.append([testEvent({ data: { w } })], { stream: "contended", expectedVersion: version - 1 }),
          ),
        );
        const won = attempts.filter((a) => a.status === "fulfilled");
        assert.equal(won.length, 1, `version ${version}: one winner`);
        assert.equal((won[0] as PromiseFulfilledResult<readonly AppendResult[]>).value[0]!.version, version);
        for (const attempt of attempts) {
          if (attempt.status === "fulfilled") continue;
          assert.ok(attempt.reason instanceof VersionConflictError);
          assert.equal(attempt.reason.actual, version, "the loser is told the version that won");
        }
      }
      const events = await log.readStream("contended", { limit: 100 });
      assert.deepEqual(
        events.map((e) => e.version),
        Array.from({ length: 12 }, (_, i) => i),
      );
      assertGapless(events.map((e) => e.position));
    });

    it("a conflicting append in a concurrent group fails alone and uses no position", async () => {
      const { log } = await open();
      await log.append([testEvent()], { stream: "s" });
      const [a, bad, c] = await Promise.allSettled([
        log.append([testEvent(), testEvent()]),
        log.append([testEvent(), testEvent(), testEvent()], { stream: "s", expectedVersion: 7 }),
        log.append([testEvent()]),
      ]);
      assert.equal(a.status, "fulfilled");
      assert.equal(bad.status, "rejected");
      assert.equal(c.status, "fulfilled");
      const all = await readAll(log);
      assertGapless(all.map((e) => e.position));
      assert.equal(all.length, 4);
    });

    it("is idempotent by source+id, also under concurrency and inside one batch", async () => {
      const { log } = await open();
      const event = testEvent({ source: "/dup", id: "same" });
      const answers = await Promise.all(Array.from({ length: 10 }, () => log.append([event])));
      const firsts = answers.filter((r) => !r[0]!.duplicate);
      assert.equal(firsts.length, 1);
      const position = firsts[0]![0]!.position;
      for (const r of answers) {
        assert.equal(r[0]!.position, position);
        assert.equal(r[0]!.id, "same");
        assert.equal(r[0]!.source, "/dup");
      }
      const batch = await log.append([
        testEvent({ source: "/dup", id: "x" }),
        testEvent({ source: "/dup", id: "same" }),
        testEvent({ source: "/dup", id: "x" }),
        testEvent({ source: "/other", id: "same" }),
      ]);
      assert.deepEqual(
        batch.map((r) => [r.position, r.duplicate]),
        [
          [2, false],
          [1, true],
          [2, true],
          [3, false],
        ],
      );
      assert.equal((await readAll(log)).length, 3);
    });

    it("answers a retried expected-version append with its duplicates, not a conflict", async () => {
      const { log } = await open();
      const events = [testEvent(), testEvent()];
      const first = await log.append(events, { stream: "acct", expectedVersion: "no-stream" });
      const retry = await log.append(events, { stream: "acct", expectedVersion: "no-stream" });
      assert.deepEqual(
        retry.map((r) => [r.position, r.version, r.duplicate]),
        first.map((r) => [r.position, r.version, true]),
      );
      // One new event makes it a real append again: the expectation is checked.
      await assert.rejects(
        log.append([...events, testEvent()], { stream: "acct", expectedVersion: "no-stream" }),
        VersionConflictError,
      );
    });

    it("keeps positions gapless and ordered under concurrent appends", async () => {
      const { log } = await open();
      const producers = 40;
      const perProducer = 15;
      const results: AppendResult[] = [];
      await Promise.all(
        Array.from({ length: producers }, async (_, p) => {
          for (let i = 0; i < perProducer; i++) {
            const size = 1 + ((p + i) % 3);
            const batch = Array.from({ length: size }, () => testEvent({ partitionkey: `p-${p % 7}` }));
            const answer = await log.append(batch);
            const positions = answer.map((r) => r.position);
            assertGapless(positions, positions[0]);
            results.push(...answer);
            if (i % 4 === 0) await sleep(0);
          }
        }),
      );
      const sorted = results.map((r) => r.position).sort((a, b) => a - b);
      assertGapless(sorted);
      const all = await readAll(log);
      assert.deepEqual(
        all.map((e) => e.position),
        sorted,
      );
      assert.equal(await log.headPosition(), sorted.length);
      const byStream = new Map<string, number[]>();
      for (const e of all) byStream.set(e.stream, [...(byStream.get(e.stream) ?? []), e.version]);
      for (const [stream, versions] of byStream) {
        assert.deepEqual(
          versions,
          versions.map((_, i) => i),
          `versions of ${stream}`,
        );
        assert.equal((await log.streamInfo(stream))?.version, versions.length - 1);
      }
    });

    it("reads with limit, filter and scan limit; next never skips or repeats", async () => {
      const { log } = await open();
      for (let i = 0; i < 30; i++) await log.append([testEvent({ type: i % 3 === 0 ? "wanted" : "other" })]);
      const limited = await log.read({ after: 5, limit: 4 });
      assert.deepEqual(
        limited.events.map((e) => e.position),
        [6, 7, 8, 9],
      );
      assert.equal(limited.next, 9);
      const filter = (e: StoredEvent): boolean => e.event.type === "wanted";
      const seen: number[] = [];
      let after = 0;
      for (let guard = 0; guard < 100; guard++) {
        const page = await log.read({ after, limit: 3, filter, scanLimit: 4 });
        assert.ok(page.next >= after);
        seen.push(...page.events.map((e) => e.position));
        if (page.next === after && page.events.length === 0) break;
        after = page.next;
      }
      assert.deepEqual(
        seen,
        Array.from({ length: 10 }, (_, i) => 1 + 3 * i),
      );
      const end = await log.read({ after: 30 });
      assert.deepEqual(end, { events: [], next: 30 });
    });

    it("reads one stream forwards and backwards", async () => {
      const { log } = await open();
      await log.append(
        Array.from({ length: 10 }, (_, i) => testEvent({ data: i })),
        { stream: "s1" },
      );
      await log.append([testEvent()], { stream: "s2" });
      const forwards = await log.readStream("s1", { from: 3, limit: 4 });
      assert.deepEqual(
        forwards.map((e) => e.version),
        [3, 4, 5, 6],
      );
      const backwards = await log.readStream("s1", { direction: "backwards", limit: 3 });
      assert.deepEqual(
        backwards.map((e) => e.version),
        [9, 8, 7],
      );
      const backFrom = await log.readStream("s1", { direction: "backwards", from: 1 });
      assert.deepEqual(
        backFrom.map((e) => e.version),
        [1, 0],
      );
      assert.deepEqual(await log.readStream("nope"), []);
      assert.equal(await log.streamInfo("nope"), undefined);
      assert.deepEqual(await log.streamInfo("s1"), { stream: "s1", version: 9, deleted: false });
    });

    it("lists streams in name order with prefix and paging", async () => {
      const { log } = await open();
      for (const stream of ["order-2", "order-1", "cart-1", "order-3", "orders"])
        await log.append([testEvent()], { stream });
      const all = await log.listStreams();
      assert.deepEqual(
        all.map((s) => s.stream),
        ["cart-1", "order-1", "order-2", "order-3", "orders"],
      );
      const page1 = await log.listStreams({ prefix: "order-", limit: 2 });
      assert.deepEqual(
        page1.map((s) => s.stream),
        ["order-1", "order-2"],
      );
      await log.deleteStream("order-0");
      const fromBefore = await log.listStreams({ prefix: "order-", after: "a" });
      assert.deepEqual(
        fromBefore.map((s) => [s.stream, s.deleted]),
        [
          ["order-0", true],
          ["order-1", false],
          ["order-2", false],
          ["order-3", false],
        ],
      );
      assert.deepEqual(await log.listStreams({ prefix: "order-", after: "order-9" }), []);
      const page2 = await log.listStreams({ prefix: "order-", after: "order-2", limit: 2 });
      assert.deepEqual(
        page2.map((s) => [s.stream, s.version, s.deleted]),
        [["order-3", 0, false]],
      );
    });

    it("finds the position at a time", async () => {
      const { log } = await open();
      await log.append([testEvent(), testEvent()]);
      await sleep(15);
      const middle = Date.now();
      await sleep(2);
      await log.append([testEvent()]);
      await log.append([testEvent()]);
      assert.equal(await log.positionAtTime(0), 1);
      assert.equal(await log.positionAtTime(middle), 3);
      assert.equal(await log.positionAtTime(Date.now() + 60_000), 5);
    });

    it("subscribes: catch-up switches to live with no gap and no duplicate while appends race", async () => {
      const { log } = await open();
      const total = 600;
      let appended = 0;
      const producer = (async () => {
        while (appended < total) {
          const size = 1 + (appended % 4);
          await Promise.all(
            Array.from({ length: 3 }, () => log.append(Array.from({ length: size }, () => testEvent()))),
          );
          appended += 3 * size;
          if (appended % 5 === 0) await sleep(1);
        }
        // The last event tells the consumer to stop; everything before it must have been delivered.
        await log.append([testEvent({ type: "end" })]);
      })();
      await sleep(5);
      const subscription = log.subscribe({ after: 0, batchSize: 7 });
      const delivered: number[] = [];
      for await (const stored of subscription) {
        delivered.push(stored.position);
        if (stored.event.type === "end") break;
        if (delivered.length % 50 === 0) await sleep(1);
      }
      await producer;
      assertGapless(delivered);
      assert.equal(delivered.length, await log.headPosition());
    });

    it("subscribes from a position with a filter, waits for live events, and ends on close()", async () => {
      const { log } = await open();
      await log.append([testEvent({ type: "a" }), testEvent({ type: "b" }), testEvent({ type: "a" })]);
      const subscription = log.subscribe({ after: 1, filter: (e) => e.event.type === "a" });
      const iterator = subscription[Symbol.asyncIterator]();
      assert.equal((await iterator.next()).value?.position, 3);
      const pending = iterator.next();
      await log.append([testEvent({ type: "b" })]);
      await log.append([testEvent({ type: "a" })]);
      assert.equal((await pending).value?.position, 5);
      const waiting = iterator.next();
      subscription.close();
      assert.equal((await waiting).done, true);
    });

    it("lets the event loop run between catch-up batches", async () => {
      const { log } = await open();
      await log.append(Array.from({ length: 2000 }, () => testEvent()));
      let timerRan = false;
      setImmediate(() => {
        timerRan = true;
      });
      let deliveredBeforeTimer = 0;
      const subscription = log.subscribe({ after: 0, batchSize: 100 });
      for await (const stored of subscription) {
        if (!timerRan) deliveredBeforeTimer += 1;
        if (stored.position === 2000) break;
      }
      assert.ok(deliveredBeforeTimer < 2000, `the timer ran only after ${deliveredBeforeTimer} events`);
    });

    it("hands out each event once when next() is called again before the previous call settled", async () => {
      const { log } = await open();
      const subscription = log.subscribe({ after: 0, batchSize: 2 });
      const iterator = subscription[Symbol.asyncIterator]();
      const calls = Array.from({ length: 5 }, () => iterator.next());
      await log.append([testEvent(), testEvent(), testEvent()]);
      await log.append([testEvent(), testEvent()]);
      const results = await Promise.all(calls);
      assert.deepEqual(
        results.map((r) => r.value?.position),
        [1, 2, 3, 4, 5],
      );
      subscription.close();
    });

    it("ends subscriptions when the log closes and rejects calls after close", async () => {
      const { log } = await open();
      const subscription = log.subscribe({ after: 0 });
      const waiting = subscription[Symbol.asyncIterator]().next();
      await log.close();
      assert.equal((await waiting).done, true);
      await assert.rejects(log.append([testEvent()]), LogClosedError);
      await assert.rejects(log.read(), LogClosedError);
      await assert.rejects(log.checkpoints.store("g", 1), LogClosedError);
      await log.close();
    });

    it("applies retention by max count per stream prefix and by type; positions and versions go on", async () => {
      const { log } = await open();
      for (let i = 0; i < 5; i++) {
        await log.append([testEvent({ type: i % 2 === 0 ? "tick" : "keep" })], { stream: "queue-1" });
        await log.append([testEvent()], { stream: "queue-2" });
        await log.append([testEvent({ type: "tick" })], { stream: "other" });
      }
      log.setRetention([
        { streamPrefix: "queue-", maxCount: 2 },
        { type: "tick", maxCount: 1 },
      ]);
      const report = await log.runRetention();
      // queue-1: keeps versions 3,4; queue-2: keeps 3,4; other: keeps its newest tick.
      assert.equal(report.deleted, 3 + 3 + 4);
      assert.deepEqual(
        (await log.readStream("queue-1")).map((e) => e.version),
        [3, 4],
      );
      assert.deepEqual(
        (await log.readStream("other")).map((e) => e.version),
        [4],
      );
      assert.equal((await log.runRetention()).deleted, 0);
      const all = await readAll(log);
      assert.equal(all.length, 5);
      assert.ok(all.every((e, i) => i === 0 || e.position > all[i - 1]!.position));
      const next = await log.append([testEvent()], { stream: "queue-1" });
      assert.equal(next[0]!.position, 16);
      assert.equal(next[0]!.version, 5);
    });

    it("keeps the version of a stream whose events retention removed", async () => {
      const { log } = await open();
      await log.append([testEvent(), testEvent(), testEvent()], { stream: "tmp-1" });
      await log.append([testEvent()], { stream: "kept" });
      log.setRetention([{ streamPrefix: "tmp-", maxCount: 0 }]);
      assert.equal((await log.runRetention()).deleted, 3);
      assert.deepEqual(await log.readStream("tmp-1"), []);
      assert.deepEqual(await log.streamInfo("tmp-1"), { stream: "tmp-1", version: 2, deleted: false });
      assert.deepEqual(
        (await log.listStreams()).map((s) => [s.stream, s.version]),
        [
          ["kept", 0],
          ["tmp-1", 2],
        ],
      );
      await assert.rejects(
        log.append([testEvent()], { stream: "tmp-1", expectedVersion: "no-stream" }),
        VersionConflictError,
      );
      const next = await log.append([testEvent()], { stream: "tmp-1", expectedVersion: 2 });
      assert.deepEqual([next[0]!.position, next[0]!.version], [5, 3]);
    });

    it("applies retention by max age", async () => {
      const { log } = await open();
      await log.append([testEvent(), testEvent({ type: "t" })], { stream: "old" });
      await log.append([testEvent()], { stream: "kept-old" });
      // The cut-off lies 100 ms after the first events and 100 ms before the last one, so a
      // stall on a loaded machine between setRetention and runRetention cannot move it across.
      await sleep(100);
      const cutOff = Date.now();
      await sleep(100);
      await log.append([testEvent()], { stream: "old" });
      log.setRetention([{ streamPrefix: "old", maxAgeMs: Date.now() - cutOff }]);
      assert.equal((await log.runRetention()).deleted, 2);
      assert.deepEqual(
        (await readAll(log)).map((e) => e.position),
        [3, 4],
      );
      log.setRetention([{ type: "t", maxAgeMs: 0 }]);
      assert.equal((await log.runRetention()).deleted, 0);
    });

    it("deletes a stream softly: a tombstone keeps its version, reads and appends are refused", async () => {
      const { log } = await open();
      await log.append([testEvent({ id: "a1" }), testEvent()], { stream: "doomed" });
      await log.append([testEvent()], { stream: "alive" });
      await assert.rejects(log.deleteStream("doomed", { expectedVersion: 0 }), VersionConflictError);
      await log.deleteStream("doomed", { expectedVersion: 1 });
      assert.deepEqual(await log.streamInfo("doomed"), { stream: "doomed", version: 1, deleted: true });
      await assert.rejects(log.readStream("doomed"), StreamDeletedError);
      const appendError = await rejection(log.append([testEvent()], { stream: "doomed" }));
      assert.ok(appendError instanceof StreamDeletedError);
      assert.equal(appendError.stream, "doomed");
      await assert.rejects(log.append([testEvent({ partitionkey: "doomed" })]), StreamDeletedError);
      await assert.rejects(log.deleteStream("doomed"), StreamDeletedError);
      assert.deepEqual(
        (await readAll(log)).map((e) => e.stream),
        ["alive"],
      );
      // A never-written stream can be tombstoned too.
      await log.deleteStream("reserved");
      assert.deepEqual(await log.streamInfo("reserved"), { stream: "reserved", version: -1, deleted: true });
      const listed = await log.listStreams();
      assert.deepEqual(
        listed.map((s) => [s.stream, s.deleted]),
        [
          ["alive", false],
          ["doomed", true],
          ["reserved", true],
        ],
      );
      // Positions are never reused, even though the newest events were removed.
      await log.deleteStream("alive");
      const next = await log.append([testEvent()]);
      assert.equal(next[0]!.position, 4);
    });

    it("deletes a stream hard: events and tombstone go, the name starts again at version 0", async () => {
      const { log } = await open();
      await log.append([testEvent({ source: "/h", id: "1" }), testEvent()], { stream: "gone" });
      await log.append([testEvent()], { stream: "kept" });
      await assert.rejects(
        log.deleteStream("gone", { expectedVersion: 0, hard: true }),
        VersionConflictError,
      );
      await log.deleteStream("gone", { expectedVersion: 1, hard: true });
      assert.equal(await log.streamInfo("gone"), undefined);
      assert.deepEqual(await log.readStream("gone"), []);
      assert.deepEqual(
        (await log.listStreams()).map((s) => s.stream),
        ["kept"],
      );
      assert.deepEqual(
        (await readAll(log)).map((e) => e.position),
        [3],
      );
      // The name is free again; positions go on; a deleted event is no longer a duplicate.
      const again = await log.append([testEvent({ source: "/h", id: "1" })], {
        stream: "gone",
        expectedVersion: "no-stream",
      });
      assert.deepEqual([again[0]!.position, again[0]!.version, again[0]!.duplicate], [4, 0, false]);
      // A soft-deleted stream's tombstone can be removed by a hard delete.
      await log.deleteStream("kept");
      await log.deleteStream("kept", { hard: true });
      assert.equal(await log.streamInfo("kept"), undefined);
      const revived = await log.append([testEvent()], { stream: "kept" });
      assert.deepEqual([revived[0]!.position, revived[0]!.version], [5, 0]);
      // Nothing to forget: a hard delete of an unknown stream leaves no tombstone.
      await log.deleteStream("never", { hard: true });
      assert.equal(await log.streamInfo("never"), undefined);
      assert.equal(await log.headPosition(), 5);
    });

    it("deletes given positions: readers skip them, versions and head stay, no duplicates", async () => {
      const { log } = await open();
      await log.append(
        [testEvent({ source: "/q", id: "1" }), testEvent({ source: "/q", id: "2" }), testEvent()],
        { stream: "q" },
      );
      await log.append([testEvent(), testEvent()], { stream: "other" });
      // Unknown and repeated positions are ignored; the newest event of a stream may go.
      assert.equal(await log.deleteEvents([1, 3, 3, 5, 99]), 3);
      assert.equal(await log.deleteEvents([1]), 0);
      assert.equal(await log.deleteEvents([]), 0);
      assert.deepEqual(
        (await readAll(log)).map((e) => [e.position, e.stream, e.version]),
        [
          [2, "q", 1],
          [4, "other", 0],
        ],
      );
      assert.deepEqual(
        (await log.readStream("q")).map((e) => e.version),
        [1],
      );
      assert.equal(await log.headPosition(), 5);
      assert.deepEqual(await log.streamInfo("q"), { stream: "q", version: 2, deleted: false });
      assert.deepEqual(await log.streamInfo("other"), { stream: "other", version: 1, deleted: false });
      const page = await log.read({ after: 2, limit: 10 });
      assert.deepEqual([page.events.map((e) => e.position), page.next], [[4], 5]);
      const results = await log.append(
        [testEvent({ source: "/q", id: "1" }), testEvent({ source: "/q", id: "2" })],
        {
          stream: "q",
        },
      );
      assert.deepEqual(
        results.map((r) => [r.position, r.version, r.duplicate]),
        [
          [6, 3, false],
          [2, 1, true],
        ],
      );
      assert.equal(await log.deleteEvents([6, 2, 4]), 3);
      assert.equal(await log.deleteEvents([6]), 0);
      assert.equal(await log.headPosition(), 6);
      assert.deepEqual(await readAll(log), []);
      assert.equal((await log.append([testEvent()], { stream: "q" }))[0]!.version, 4);
      await assert.rejects(log.deleteEvents([-1]), LogInputError);
      await assert.rejects(log.deleteEvents([1.5]), LogInputError);
    });

    it("reads linked events by causationid, correlationid and id, paged, skipping removed ones", async () => {
      const { log, reopen } = await open();
      const root = testEvent({ source: "/shop", id: "order-1" });
      await log.append([root, testEvent({ id: "noise-1" })]);
      const paid = testEvent({
        source: "/pay",
        id: "pay-1",
        causationid: "order-1",
        correlationid: "order-1",
      });
      const mail = testEvent({
        source: "/mail",
        id: "mail-1",
        causationid: "order-1",
        correlationid: "order-1",
      });
      await log.append([paid, testEvent({ id: "noise-2", correlationid: "other" }), mail]);
      const shipped = testEvent({
        source: "/ship",
        id: "ship-1",
        causationid: "pay-1",
        correlationid: "order-1",
      });
      await log.append([shipped]);
      // A duplicate is not indexed twice.
      await log.append([
        testEvent({ source: "/pay", id: "pay-1", causationid: "order-1", correlationid: "order-1" }),
      ]);
      const ids = (page: { events: readonly StoredEvent[] }) => page.events.map((e) => e.event.id);
      assert.deepEqual(ids(await log.readLinked("causationid", "order-1")), ["pay-1", "mail-1"]);
      assert.deepEqual(ids(await log.readLinked("correlationid", "order-1")), ["pay-1", "mail-1", "ship-1"]);
      assert.deepEqual(ids(await log.readLinked("causationid", "pay-1")), ["ship-1"]);
      assert.deepEqual(ids(await log.readLinked("id", "pay-1")), ["pay-1"]);
      assert.deepEqual(ids(await log.readLinked("correlationid", "nobody")), []);
      // Paging: next resumes exactly after the last event returned, never skips or repeats.
      const first = await log.readLinked("correlationid", "order-1", { limit: 2 });
      assert.deepEqual([ids(first), first.next], [["pay-1", "mail-1"], 5]);
      const second = await log.readLinked("correlationid", "order-1", { after: first.next, limit: 2 });
      assert.deepEqual(ids(second), ["ship-1"]);
      const end = await log.readLinked("correlationid", "order-1", { after: second.next, limit: 2 });
      assert.deepEqual([ids(end), end.next], [[], second.next]);
      assert.deepEqual(
        (await log.readLinked("correlationid", "order-1")).events.map((e) => [e.position, e.stream]),
        [
          [3, "/pay"],
          [5, "/mail"],
          [6, "/ship"],
        ],
      );
      // A removed event is skipped, and a page over removed rows still moves on.
      assert.equal(await log.deleteEvents([3]), 1);
      const seen: string[] = [];
      for (let after = 0; ; ) {
        const page = await log.readLinked("correlationid", "order-1", { after, limit: 1 });
        assert.ok(page.events.length <= 1);
        seen.push(...ids(page));
        if (page.next === after) break;
        after = page.next;
      }
      assert.deepEqual(seen, ["mail-1", "ship-1"]);
      await assert.rejects(log.readLinked("correlationid", ""), LogInputError);
      await assert.rejects(log.readLinked("correlationid", "x", { limit: 0 }), LogInputError);
      if (reopen !== undefined) {
        const again = await reopen();
        opened.push(again);
        assert.deepEqual(ids(await again.readLinked("correlationid", "order-1")), ["mail-1", "ship-1"]);
        assert.deepEqual(ids(await again.readLinked("id", "ship-1")), ["ship-1"]);
      }
    });

    it("finds an event by source and id", async () => {
      const { log } = await open();
      await log.append([testEvent({ source: "/a", id: "1" }), testEvent({ source: "/b", id: "1" })]);
      await log.append([testEvent({ source: "/a", id: "2", correlationid: "c" })], { stream: "s" });
      const found = await log.findEvent("/b", "1");
      assert.deepEqual([found?.position, found?.event.source, found?.event.id], [2, "/b", "1"]);
      const linked = await log.findEvent("/a", "2");
      assert.deepEqual([linked?.position, linked?.stream, linked?.version], [3, "s", 0]);
      assert.equal(await log.findEvent("/a", "3"), undefined);
      assert.equal(await log.findEvent("/c", "1"), undefined);
      await log.deleteEvents([1]);
      assert.equal(await log.findEvent("/a", "1"), undefined);
    });

    it("stores checkpoints and metadata", async () => {
      const { log } = await open();
      assert.equal(await log.checkpoints.load("g1"), undefined);
      await log.checkpoints.store("g1", 10);
      await log.checkpoints.store("g2", 3);
      await log.checkpoints.store("g1", 12);
      assert.equal(await log.checkpoints.load("g1"), 12);
      assert.deepEqual(await log.checkpoints.list(), [
        { group: "g1", position: 12 },
        { group: "g2", position: 3 },
      ]);
      await log.checkpoints.delete("g2");
      assert.deepEqual(await log.checkpoints.list(), [{ group: "g1", position: 12 }]);
      await assert.rejects(log.checkpoints.store("g1", -1), LogInputError);

      await log.metadata.set("sub/a", "1");
      await log.metadata.set("sub/b", "2");
      await log.metadata.set("other", "3");
      await log.metadata.set("sub/a", "4");
      assert.equal(await log.metadata.get("sub/a"), "4");
      assert.deepEqual(await log.metadata.list("sub/"), [
        { key: "sub/a", value: "4" },
        { key: "sub/b", value: "2" },
      ]);
      await log.metadata.delete("sub/a");
      assert.equal(await log.metadata.get("sub/a"), undefined);
      assert.equal((await log.metadata.list("")).length, 2);
    });

    it("scheduled: a released event that carries causationid/correlationid is in the lineage index", async () => {
      const { log } = await open();
      const reply = testEvent({
        source: "/timer",
        id: "t-1",
        causationid: "step-1",
        correlationid: "saga-1",
      });
      await log.scheduled.add([{ event: reply, deliverAt: 1000 }]);
      assert.deepEqual(
        (await log.readLinked("correlationid", "saga-1")).events,
        [],
        "pending: not linked yet",
      );
      const [released] = await log.scheduled.release(1000);
      const linked = await log.readLinked("correlationid", "saga-1");
      assert.deepEqual(
        linked.events.map((e) => [e.position, e.event.id]),
        [[released!.position, "t-1"]],
      );
      assert.deepEqual(
        (await log.readLinked("causationid", "step-1")).events.map((e) => e.event.id),
        ["t-1"],
      );
    });

    it("scheduled: held back until its time, then appended in its stream in deliverAt order", async () => {
      const { log } = await open();
      await log.append([testEvent({ source: "/s", partitionkey: "order-1" })]);
      const late = testEvent({ source: "/s", id: "late", partitionkey: "order-1" });
      const early = testEvent({ source: "/s", id: "early", partitionkey: "order-1" });
      const other = testEvent({ source: "/s", id: "other" });
      const added = await log.scheduled.add([
        { event: late, deliverAt: 3000 },
        { event: early, deliverAt: 2000 },
      ]);
      assert.deepEqual(
        added.map((r) => [r.id, r.stream, r.position, r.version, r.duplicate, r.scheduled, r.deliverAt]),
        [
          ["late", "order-1", 0, -1, false, true, 3000],
          ["early", "order-1", 0, -1, false, true, 2000],
        ],
      );
      await log.scheduled.add([{ event: other, deliverAt: 2500 }], { stream: "named" });
      assert.equal(await log.scheduled.next(), 2000);
      assert.equal(await log.headPosition(), 1, "a pending event is not in the log");
      assert.deepEqual(await log.scheduled.release(1999), []);
      const first = await log.scheduled.release(2500);
      assert.deepEqual(
        first.map((r) => [r.id, r.position, r.stream, r.version, r.duplicate]),
        [
          ["early", 2, "order-1", 1, false],
          ["other", 3, "named", 0, false],
        ],
      );
      assert.equal(await log.scheduled.next(), 3000);
      const second = await log.scheduled.release(10_000);
      assert.deepEqual(
        second.map((r) => [r.id, r.position, r.version]),
        [["late", 4, 2]],
      );
      assert.equal(await log.scheduled.next(), undefined);
      assert.deepEqual(await log.scheduled.release(10_000), []);
      const stored = await readAll(log);
      assert.deepEqual(
        stored.map((e) => [e.position, e.event.id, e.stream]),
        [
          [1, stored[0]!.event.id, "order-1"],
          [2, "early", "order-1"],
          [3, "other", "named"],
          [4, "late", "order-1"],
        ],
      );
      assert.equal(stored[1]!.json, JSON.stringify(JSON.parse(stored[1]!.json)), "stored as JSON");
    });

    it("scheduled: source+id dedupe covers pending and appended events", async () => {
      const { log } = await open();
      const event = testEvent({ source: "/d", id: "1" });
      await log.scheduled.add([{ event, deliverAt: 5000 }]);
      const again = await log.scheduled.add([
        { event: testEvent({ source: "/d", id: "1" }), deliverAt: 9000 },
        { event: testEvent({ source: "/d", id: "2" }), deliverAt: 6000 },
        { event: testEvent({ source: "/d", id: "2" }), deliverAt: 7000 },
      ]);
      assert.deepEqual(
        again.map((r) => [r.id, r.duplicate, r.scheduled, r.deliverAt]),
        [
          ["1", true, true, 5000],
          ["2", false, true, 6000],
          ["2", true, true, 6000],
        ],
      );
      const [stored] = await log.append([testEvent({ source: "/d", id: "3" })]);
      const logged = await log.scheduled.add([{ event: testEvent({ source: "/d", id: "3" }), deliverAt: 1 }]);
      assert.deepEqual(
        logged.map((r) => [r.position, r.duplicate, r.scheduled]),
        [[stored!.position, true, false]],
      );
      // A plain append of a pending source+id stores it now; its release is then a duplicate.
      const [direct] = await log.append([testEvent({ source: "/d", id: "2" })]);
      const released = await log.scheduled.release(10_000);
      assert.deepEqual(
        released.map((r) => [r.id, r.duplicate, r.position]),
        [
          ["1", false, 3],
          ["2", true, direct!.position],
        ],
      );
      assert.deepEqual(
        (await readAll(log)).map((e) => e.event.id),
        ["3", "2", "1"],
      );
      const after = await log.scheduled.add([{ event: testEvent({ source: "/d", id: "1" }), deliverAt: 1 }]);
      assert.deepEqual([after[0]!.duplicate, after[0]!.scheduled, after[0]!.position], [true, false, 3]);
      await assert.rejects(log.scheduled.add([{ event, deliverAt: -1 }]), LogInputError);
      await assert.rejects(log.scheduled.release(0, 0), LogInputError);
    });

    it("scheduled: cancel, list pages, concurrent releases append once", async () => {
      const { log } = await open();
      const requests = Array.from({ length: 5 }, (_, n) => ({
        event: testEvent({ source: "/c", id: String(n) }),
        deliverAt: 1000 + n,
      }));
      await log.scheduled.add(requests);
      const page1 = await log.scheduled.list({ limit: 2 });
      assert.deepEqual(
        page1.entries.map((e) => [e.id, e.source, e.deliverAt, e.stream, e.event.id]),
        [
          ["0", "/c", 1000, "/c", "0"],
          ["1", "/c", 1001, "/c", "1"],
        ],
      );
      const page2 = await log.scheduled.list({ after: page1.next, limit: 10 });
      assert.deepEqual(
        page2.entries.map((e) => e.id),
        ["2", "3", "4"],
      );
      assert.deepEqual((await log.scheduled.list({ after: page2.next })).entries, []);
      assert.equal(await log.scheduled.cancel("/c", "1"), "cancelled");
      assert.equal(await log.scheduled.cancel("/c", "1"), "unknown");
      assert.equal(await log.scheduled.cancel("/c", "nope"), "unknown");
      const [one, two] = await Promise.all([log.scheduled.release(1002), log.scheduled.release(1004)]);
      assert.equal(await log.scheduled.cancel("/c", "0"), "released");
      const ids = [...one!, ...two!].filter((r) => !r.duplicate).map((r) => r.id);
      assert.deepEqual(ids.sort(), ["0", "2", "3", "4"]);
      assert.deepEqual(
        (await readAll(log)).map((e) => e.event.id),
        ["0", "2", "3", "4"],
      );
      assert.deepEqual((await log.scheduled.list()).entries, []);
      await log.scheduled.add([{ event: testEvent({ source: "/c", id: "gone" }), deliverAt: 1 }], {
        stream: "doomed",
      });
      await log.append([testEvent()], { stream: "doomed" });
      await log.deleteStream("doomed");
      assert.deepEqual(await log.scheduled.release(5), [], "its stream was deleted: dropped");
      assert.equal(await log.scheduled.next(), undefined);
    });

    it("scheduled: pending events survive a reopen (durable backends)", unless("reopen"), async () => {
      const { log, reopen } = await open();
      assert.ok(reopen !== undefined, "features.reopen is true, so the factory must return reopen()");
      await log.scheduled.add([
        { event: testEvent({ source: "/p", id: "1", data: { n: 1 } }), deliverAt: 50 },
      ]);
      const again = await reopen();
      opened.push(again);
      assert.equal(await again.scheduled.next(), 50);
      const dup = await again.scheduled.add([{ event: testEvent({ source: "/p", id: "1" }), deliverAt: 60 }]);
      assert.deepEqual([dup[0]!.duplicate, dup[0]!.deliverAt], [true, 50]);
      const released = await again.scheduled.release(50);
      assert.deepEqual(
        released.map((r) => [r.id, r.position]),
        [["1", 1]],
      );
      const [stored] = await readAll(again);
      assert.deepEqual((stored!.event as unknown as { data: unknown }).data, { n: 1 });
    });

    it(
      "keeps hard deletes and deleted positions across a reopen (durable backends)",
      unless("reopen"),
      async () => {
        const { log, reopen } = await open();
        assert.ok(reopen !== undefined, "features.reopen is true, so the factory must return reopen()");
        await log.append([testEvent(), testEvent()], { stream: "purged" });
        await log.append([testEvent({ source: "/k", id: "1" }), testEvent()], { stream: "queue" });
        await log.deleteStream("purged", { hard: true });
        assert.equal(await log.deleteEvents([3, 4]), 2);
        const again = await reopen();
        opened.push(again);
        assert.equal(await again.headPosition(), 4);
        assert.equal(await again.streamInfo("purged"), undefined);
        assert.deepEqual(await again.streamInfo("queue"), { stream: "queue", version: 1, deleted: false });
        assert.deepEqual(await readAll(again), []);
        const next = await again.append([testEvent({ source: "/k", id: "1" })], { stream: "queue" });
        assert.deepEqual([next[0]!.position, next[0]!.version, next[0]!.duplicate], [5, 2, false]);
        const reborn = await again.append([testEvent()], { stream: "purged", expectedVersion: "no-stream" });
        assert.deepEqual([reborn[0]!.position, reborn[0]!.version], [6, 0]);
      },
    );

    it("has one identity: the same while open and across a reopen of the same storage", async () => {
      const { log, reopen } = await open();
      const identity = await log.identity();
      assert.equal(typeof identity.id, "string");
      assert.ok(identity.id.length > 0 && identity.epoch.length > 0);
      assert.ok(Number.isSafeInteger(identity.epochStart) && identity.epochStart >= 0);
      await log.append([testEvent()]);
      assert.deepEqual(await log.identity(), identity);
      if (!features.reopen || reopen === undefined) return;
      const again = await reopen();
      opened.push(again);
      assert.deepEqual(await again.identity(), identity, "a reopen is the same copy: same id and epoch");
    });

    it("reopens after close with everything in place (durable backends)", unless("reopen"), async () => {
      const { log, reopen } = await open();
      assert.ok(reopen !== undefined, "features.reopen is true, so the factory must return reopen()");
      await log.append([testEvent({ source: "/r", id: "1" }), testEvent()], { stream: "keep" });
      await log.append([testEvent()], { stream: "tail" });
      await log.deleteStream("tail");
      await log.append([testEvent(), testEvent()], { stream: "emptied" });
      log.setRetention([{ streamPrefix: "emptied", maxCount: 0 }]);
      assert.equal((await log.runRetention()).deleted, 2);
      await log.checkpoints.store("g", 2);
      await log.metadata.set("k", "v");
      const again = await reopen();
      opened.push(again);
      assert.equal(await again.headPosition(), 5);
      assert.deepEqual(await again.streamInfo("emptied"), { stream: "emptied", version: 1, deleted: false });
      assert.deepEqual(
        (await readAll(again)).map((e) => [e.position, e.stream, e.version]),
        [
          [1, "keep", 0],
          [2, "keep", 1],
        ],
      );
      assert.equal(await again.checkpoints.load("g"), 2);
      assert.equal(await again.metadata.get("k"), "v");
      assert.deepEqual(await again.streamInfo("tail"), { stream: "tail", version: 0, deleted: true });
      const dup = await again.append([testEvent({ source: "/r", id: "1" })]);
      assert.deepEqual([dup[0]!.position, dup[0]!.duplicate], [1, true]);
      const next = await again.append([testEvent()], { stream: "keep", expectedVersion: 1 });
      assert.deepEqual([next[0]!.position, next[0]!.version], [6, 2]);
      const revived = await again.append([testEvent()], { stream: "emptied" });
      assert.deepEqual([revived[0]!.position, revived[0]!.version], [7, 2]);
    });
  });
}

const FEATURES: readonly (keyof EventLogFeatures)[] = ["reopen"];

function checkFeatures(features: EventLogFeatures): void {
  if (typeof features !== "object" || features === null)
    throw new TypeError("eventLogContract needs a features object, e.g. { reopen: false }");
  for (const flag of FEATURES)
    if (typeof features[flag] !== "boolean")
      throw new TypeError(`eventLogContract: features.${flag} must be true or false`);
}
