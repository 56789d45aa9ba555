// Model-based check that the backends have identical semantics: random sequences of appends
// (named and derived streams, expected versions, repeated ids), deletions (soft, hard, by position),
// retention, scheduled delivery (schedule, release, cancel, list) and reads run against
// the in-memory and the SQLite log, and every answer — results, errors, reads — must match.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createMemoryLog, type EventLog, type ExpectedVersion, openSqliteLog } from "@herald/log";
import fc from "fast-check";
import { testEvent } from "./support/events.js";

const dir = mkdtempSync(join(tmpdir(), "herald-equivalence-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const streamName = fc.constantFrom("a", "b", "c");
const expectedVersion: fc.Arbitrary<ExpectedVersion> = fc.oneof(
  fc.constantFrom<ExpectedVersion>("any", "no-stream", "exists"),
  fc.integer({ min: -1, max: 4 }),
);
const eventSpec = fc.record({ id: fc.integer({ min: 0, max: 12 }), partitionkey: fc.option(streamName) });

type Operation =
  | {
      kind: "append";
      events: { id: number; partitionkey: string | null }[];
      stream: string | null;
      expected: ExpectedVersion;
    }
  | { kind: "delete"; stream: string; expected: ExpectedVersion; hard: boolean }
  | { kind: "deleteEvents"; positions: number[] }
  | { kind: "readStream"; stream: string; backwards: boolean }
  | { kind: "retain"; stream: string; maxCount: number }
  | {
      kind: "schedule";
      events: { id: number; partitionkey: string | null; at: number }[];
      stream: string | null;
    }
  | { kind: "release"; now: number; limit: number }
  | { kind: "cancel"; id: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("append" as const),
      events: fc.array(eventSpec, { minLength: 1, maxLength: 4 }),
      stream: fc.option(streamName),
      expected: expectedVersion,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("delete" as const),
      stream: streamName,
      expected: expectedVersion,
      hard: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("deleteEvents" as const),
      positions: fc.array(fc.integer({ min: 0, max: 14 }), { maxLength: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("readStream" as const),
      stream: streamName,
      backwards: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("schedule" as const),
      events: fc.array(
        fc.record({
          id: fc.integer({ min: 0, max: 12 }),
          partitionkey: fc.option(streamName),
          at: fc.integer({ min: 0, max: 5 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      stream: fc.option(streamName),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("release" as const),
      now: fc.integer({ min: 0, max: 5 }),
      limit: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("cancel" as const), id: fc.integer({ min: 0, max: 12 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("retain" as const),
      stream: streamName,
      maxCount: fc.integer({ min: 0, max: 2 }),
    }),
  },
);

/** Runs one operation; answers a comparable value (errors become their name and fields). */
async function run(log: EventLog, op: Operation): Promise<unknown> {
  try {
    if (op.kind === "append") {
      const events = op.events.map((e) =>
        testEvent({
          source: "/eq",
          id: `id-${e.id}`,
          ...(e.partitionkey === null ? {} : { partitionkey: e.partitionkey }),
        }),
      );
      const stream = op.stream ?? undefined;
      const expected = stream === undefined ? "any" : op.expected;
      return await log.append(events, {
        ...(stream === undefined ? {} : { stream }),
        expectedVersion: expected,
      });
    }
    if (op.kind === "schedule") {
      const requests = op.events.map((e) => ({
        event: testEvent({
          source: "/eq",
          id: `id-${e.id}`,
          ...(e.partitionkey === null ? {} : { partitionkey: e.partitionkey }),
        }),
        deliverAt: e.at,
      }));
      return await log.scheduled.add(requests, op.stream === null ? undefined : { stream: op.stream });
    }
    if (op.kind === "release") return await log.scheduled.release(op.now, op.limit);
    if (op.kind === "cancel") return await log.scheduled.cancel("/eq", `id-${op.id}`);
    if (op.kind === "retain") {
      log.setRetention([{ streamPrefix: op.stream, maxCount: op.maxCount }]);
      return await log.runRetention();
    }
    if (op.kind === "delete") {
      await log.deleteStream(op.stream, { expectedVersion: op.expected, hard: op.hard });
      return "deleted";
    }
    if (op.kind === "deleteEvents") {
      return await log.deleteEvents(op.positions);
    }
    const events = await log.readStream(op.stream, op.backwards ? { direction: "backwards" } : {});
    return events.map((e) => [e.position, e.version, e.event.id]);
  } catch (error) {
    const { name, stream, actual } = error as { name: string; stream?: string; actual?: number };
    return { error: name, stream, actual };
  }
}

async function snapshot(log: EventLog): Promise<unknown> {
  const page = await log.read({ limit: 1000 });
  return {
    head: await log.headPosition(),
    next: page.next,
    events: page.events.map((e) => [e.position, e.stream, e.version, e.event.id]),
    streams: await log.listStreams(),
    scheduled: (await log.scheduled.list({ limit: 1000 })).entries.map((e) => [e.id, e.stream, e.deliverAt]),
    nextScheduled: await log.scheduled.next(),
  };
}

test("the in-memory and SQLite backends answer every operation the same way", async () => {
  let run_ = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 25 }), async (operations) => {
      const memory = createMemoryLog({ retentionIntervalMs: 0 });
      run_ += 1;
      // Runs alternate between a stream index that never merges (all in memory) and ones that
      // merge to disk after 1 to 4 events in steps of 1 to 3 entries (streams split across tiers).
      const merging =
        run_ % 2 === 0 ? { streamIndexMergeLag: 1 + (run_ % 4), streamIndexMergeStep: 1 + (run_ % 3) } : {};
      const sqlite = openSqliteLog({
        path: join(dir, `eq-${run_}.db`),
        durability: "normal",
        retentionIntervalMs: 0,
        ...merging,
      });
      try {
        for (const op of operations)
          assert.deepEqual(await run(sqlite, op), await run(memory, op), JSON.stringify(op));
        assert.deepEqual(await snapshot(sqlite), await snapshot(memory));
      } finally {
        await memory.close();
        await sqlite.close();
      }
    }),
    { numRuns: 60 },
  );
});
