// Model-based check against the in-memory backend (the approach of packages/log/test/equivalence):
// random sequences of appends (named and derived streams, expected versions, repeated ids, groups of
// appends issued at once, which group commit plans together), deletions (soft, hard, by position),
// retention and reads run against both logs, and every answer — results, errors, reads — must match.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { createMemoryLog, type EventLog, type ExpectedVersion } from "@herald/log";
import { openPostgresLog } from "@herald/log-postgres";
import fc from "fast-check";
import { connection, freshSchema, needsPostgres } from "./support/pg.js";

const streamName = fc.constantFrom("a", "b", "c");
const expectedVersion: fc.Arbitrary<ExpectedVersion> = fc.oneof(
  fc.constantFrom<ExpectedVersion>("any", "no-stream", "exists"),
  fc.integer({ min: -1, max: 4 }),
);
const eventSpec = fc.record({ id: fc.integer({ min: 0, max: 12 }), partitionkey: fc.option(streamName) });
const appendSpec = fc.record({
  kind: fc.constant("append" as const),
  events: fc.array(eventSpec, { minLength: 1, maxLength: 4 }),
  stream: fc.option(streamName),
  expected: expectedVersion,
});
type Append = {
  kind: "append";
  events: { id: number; partitionkey: string | null }[];
  stream: string | null;
  expected: ExpectedVersion;
};

type Operation =
  | Append
  | { kind: "together"; appends: Append[] }
  | { kind: "delete"; stream: string; expected: ExpectedVersion; hard: boolean }
  | { kind: "deleteEvents"; positions: number[] }
  | { kind: "readStream"; stream: string; backwards: boolean }
  | { kind: "read"; after: number; limit: number; scanLimit: number | null; stream: string | null }
  | { kind: "retain"; stream: string; maxCount: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 5, arbitrary: appendSpec },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("together" as const),
      appends: fc.array(appendSpec, { minLength: 2, maxLength: 4 }),
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
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("read" as const),
      after: fc.integer({ min: 0, max: 10 }),
      limit: fc.integer({ min: 1, max: 4 }),
      scanLimit: fc.option(fc.integer({ min: 1, max: 4 })),
      stream: fc.option(streamName),
    }),
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

function append(log: EventLog, op: Append): Promise<unknown> {
  const events = op.events.map(
    (e) =>
      new CloudEvent({
        source: "/eq",
        id: `id-${e.id}`,
        type: "com.example.tested",
        ...(e.partitionkey === null ? {} : { partitionkey: e.partitionkey }),
      }),
  );
  const stream = op.stream ?? undefined;
  return log.append(events, {
    ...(stream === undefined ? {} : { stream }),
    expectedVersion: stream === undefined ? "any" : op.expected,
  });
}

function comparable(error: unknown): unknown {
  const { name, stream, actual } = error as { name: string; stream?: string; actual?: number };
  return { error: name, stream, actual };
}

/** Runs one operation; answers a comparable value (errors become their name and fields). */
async function run(log: EventLog, op: Operation): Promise<unknown> {
  try {
    if (op.kind === "append") return await append(log, op);
    if (op.kind === "together") {
      const settled = await Promise.allSettled(op.appends.map((a) => append(log, a)));
      return settled.map((s) => (s.status === "fulfilled" ? s.value : comparable(s.reason)));
    }
    if (op.kind === "retain") {
      log.setRetention([{ streamPrefix: op.stream, maxCount: op.maxCount }]);
      return await log.runRetention();
    }
    if (op.kind === "delete") {
      await log.deleteStream(op.stream, { expectedVersion: op.expected, hard: op.hard });
      return "deleted";
    }
    if (op.kind === "deleteEvents") return await log.deleteEvents(op.positions);
    if (op.kind === "read") {
      const page = await log.read({
        after: op.after,
        limit: op.limit,
        ...(op.scanLimit === null ? {} : { scanLimit: op.scanLimit }),
        ...(op.stream === null ? {} : { filter: (e) => e.stream === op.stream }),
      });
      return { next: page.next, events: page.events.map((e) => [e.position, e.stream, e.version]) };
    }
    const events = await log.readStream(op.stream, op.backwards ? { direction: "backwards" } : {});
    return events.map((e) => [e.position, e.version, e.event.id]);
  } catch (error) {
    return comparable(error);
  }
}

async function snapshot(log: EventLog): Promise<unknown> {
  const page = await log.read({ limit: 1000 });
  return {
    head: await log.headPosition(),
    next: page.next,
    events: page.events.map((e) => [e.position, e.stream, e.version, e.event.id]),
    streams: await log.listStreams(),
  };
}

test("the in-memory and PostgreSQL backends answer every operation the same way", {
  ...needsPostgres,
  timeout: 300_000,
}, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 25 }), async (operations) => {
      const memory = createMemoryLog({ retentionIntervalMs: 0 });
      const postgres = await openPostgresLog({ connection, schema: freshSchema(), retentionIntervalMs: 0 });
      try {
        for (const op of operations)
          assert.deepEqual(await run(postgres, op), await run(memory, op), JSON.stringify(op));
        assert.deepEqual(await snapshot(postgres), await snapshot(memory));
      } finally {
        await memory.close();
        await postgres.close();
      }
    }),
    { numRuns: 40 },
  );
});
