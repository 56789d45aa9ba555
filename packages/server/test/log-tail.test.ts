// The shared log tail and its filter index: every subscription gets exactly the matching events
// after its start, in order, with no gap and no duplicate — while appends race members joining,
// windows filling up (falling behind) and draining (catching up and rejoining the live tail).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { createMemoryLog, type EventLog, type StoredEvent } from "@herald/log";
import fc from "fast-check";
import pino from "pino";
import { FilterIndex, type IndexKey, indexKeyOf } from "../src/subscriptions/filter-index.js";
import { compileMatcher, type FilterSpec } from "../src/subscriptions/filters.js";
import { LogTail, type TailMember } from "../src/subscriptions/log-tail.js";
import { openSqlite, tempSqlitePath } from "./support/harness.js";

const logger = pino({ level: "silent" });
const TYPES = ["a.created", "a.updated", "b.created", "b.deleted"];
const SOURCES = ["/shop", "/shop/eu", "/billing"];
const SUBJECTS = [undefined, "order-1", "order-2", "invoice-9"];

let counter = 0;
function event(type: string, source: string, subject: string | undefined): CloudEvent {
  counter++;
  return new CloudEvent({
    specversion: "1.0",
    id: `tail-${counter}`,
    source,
    type,
    ...(subject !== undefined ? { subject } : {}),
    data: { n: counter },
  } as ConstructorParameters<typeof CloudEvent>[0]);
}

const attribute = fc.constantFrom("type", "source", "subject");
const value = fc.constantFrom(...TYPES, ...SOURCES, "order-1", "invoice-9", "a.", "b", "/shop", "order");
const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ exact: fc.dictionary(attribute, value, { minKeys: 1, maxKeys: 2 }) }),
  fc.record({ prefix: fc.dictionary(attribute, value, { minKeys: 1, maxKeys: 2 }) }),
  fc.record({ suffix: fc.dictionary(attribute, fc.constantFrom("created", "-1", "eu"), { minKeys: 1 }) }),
  fc.constantFrom({ sql: "type LIKE 'a.%'" }, { sql: "subject = 'order-2'" }, { sql: "TRUE" }),
);
const filter = fc.letrec<{ f: unknown }>((tie) => ({
  f: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.record({ all: fc.array(tie("f"), { minLength: 1, maxLength: 3 }) }),
    fc.record({ any: fc.array(tie("f"), { minLength: 1, maxLength: 3 }) }),
    fc.record({ not: tie("f") }),
  ),
})).f;
const spec: fc.Arbitrary<FilterSpec> = fc.record(
  {
    types: fc.subarray(TYPES, { minLength: 1 }),
    source: fc.constantFrom(...SOURCES),
    filters: fc.array(filter, { maxLength: 3 }),
  },
  { requiredKeys: [] },
);
const anEvent = fc
  .tuple(fc.constantFrom(...TYPES), fc.constantFrom(...SOURCES), fc.constantFrom(...SUBJECTS))
  .map(([type, source, subject]) => event(type, source, subject));

describe("filter index", () => {
  it("names every subscription whose filter matches an event (property)", () => {
    fc.assert(
      fc.property(
        fc.array(spec, { minLength: 1, maxLength: 12 }),
        fc.array(anEvent, { maxLength: 20 }),
        (specs, events) => {
          const index = new FilterIndex<number>();
          const matchers = specs.map((s) => compileMatcher(s));
          for (const [i, s] of specs.entries()) index.add(i, indexKeyOf(s));
          for (const e of events) {
            const out: number[] = [];
            index.candidates(e, out);
            assert.equal(new Set(out).size, out.length, "a member is listed once");
            matchers.forEach((matches, i) => {
              if (matches(e))
                assert.ok(out.includes(i), `spec ${JSON.stringify(specs[i])} matches but is not a candidate`);
            });
          }
        },
      ),
    );
  });

  it("rules out what the indexed condition excludes, and forgets deleted members", () => {
    const index = new FilterIndex<string>();
    const add = (name: string, s: FilterSpec) => index.add(name, indexKeyOf(s));
    add("types", { types: ["a.created", "a.updated"] });
    add("source", { source: "/billing" });
    add("prefix", { filters: [{ prefix: { type: "b." } }] });
    add("subject", { filters: [{ all: [{ exact: { subject: "order-1" } }, { sql: "TRUE" }] }] });
    add("sql", { filters: [{ sql: "type = 'x'" }] });
    const of = (e: CloudEvent) => {
      const out: string[] = [];
      index.candidates(e, out);
      return out.sort();
    };
    assert.deepEqual(of(event("a.created", "/shop", undefined)), ["sql", "types"]);
    assert.deepEqual(of(event("b.deleted", "/billing", "order-1")), ["prefix", "source", "sql", "subject"]);
    assert.deepEqual(of(event("c.other", "/shop", "order-2")), ["sql"]);
    index.delete("prefix");
    index.delete("sql");
    assert.deepEqual(of(event("b.deleted", "/shop", undefined)), []);
    assert.equal(index.size, 3);
  });

  it("files a spec under its most selective condition", () => {
    const key = (s: FilterSpec): IndexKey => indexKeyOf(s);
    assert.deepEqual(key({ types: ["a", "b"], source: "/s" }), {
      kind: "exact",
      attribute: "source",
      values: ["/s"],
    });
    assert.deepEqual(key({ filters: [{ prefix: { type: "a." } }, { prefix: { source: "/shop/" } }] }), {
      kind: "prefix",
      attribute: "source",
      prefix: "/shop/",
    });
    assert.deepEqual(key({ filters: [{ any: [{ exact: { type: "a" } }] }] }), { kind: "none" });
    assert.deepEqual(key({ filters: [{ prefix: { type: "" } }] }), { kind: "none" });
  });
});

/** A member with a bounded window that a consumer drains at its own pace. */
class Collector implements TailMember {
  readonly id: string;
  readonly indexKey: IndexKey;
  readonly received: number[] = [];
  readonly window: StoredEvent[] = [];
  readonly #matcher: (e: CloudEvent) => boolean;
  readonly #capacity: number;
  tail: LogTail | undefined;
  offers = 0;
  refused = 0;

  constructor(id: string, filter: FilterSpec, capacity: number) {
    this.id = id;
    this.indexKey = indexKeyOf(filter);
    this.#matcher = compileMatcher(filter);
    this.#capacity = capacity;
  }

  matches(stored: StoredEvent): boolean {
    return this.#matcher(stored.event);
  }

  offer(stored: StoredEvent): boolean {
    this.offers++;
    if (this.window.length >= this.#capacity) {
      this.refused++;
      return false;
    }
    this.window.push(stored);
    this.received.push(stored.position);
    return true;
  }

  get canCatchUp(): boolean {
    return this.window.length <= this.#capacity / 2;
  }

  /** Consumes up to n events from the window. */
  drain(n: number): void {
    this.window.splice(0, n);
    if (this.canCatchUp && this.tail?.isBehind(this)) this.tail.kick();
  }
}

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** What a member must have received: matching, non-system events after `after`, in position order. */
async function expected(log: EventLog, filter: FilterSpec, after: number): Promise<number[]> {
  const matcher = compileMatcher(filter);
  const out: number[] = [];
  for (let from = after; ; ) {
    const page = await log.read({ after: from, limit: 1000 });
    for (const stored of page.events)
      if (!stored.stream.startsWith("$") && matcher(stored.event)) out.push(stored.position);
    if (page.events.length === 0) return out;
    from = page.next;
  }
}

const backends: Array<{
  name: string;
  open: () => Promise<{ log: EventLog; dispose: () => Promise<void> }>;
}> = [
  {
    name: "memory",
    open: async () => {
      const log = createMemoryLog();
      return { log, dispose: () => log.close() };
    },
  },
  {
    name: "sqlite",
    open: async () => {
      const temp = tempSqlitePath();
      const log = await openSqlite(temp.path);
      return {
        log,
        dispose: async () => {
          await log.close();
          temp.dispose();
        },
      };
    },
  },
];

for (const backend of backends) {
  describe(`log tail (${backend.name})`, () => {
    it("joins catch-up to live with no gap and no duplicate while appends race (property)", async () => {
      const scenario = fc.record({
        members: fc.array(
          fc.record({
            filter: spec,
            startFraction: fc.double({ min: 0, max: 1, noNaN: true }),
            joinAfterBatch: fc.nat({ max: 8 }),
            capacity: fc.integer({ min: 1, max: 40 }),
            drainPerTick: fc.integer({ min: 1, max: 30 }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        batches: fc.array(fc.array(anEvent, { minLength: 1, maxLength: 30 }), {
          minLength: 2,
          maxLength: 10,
        }),
        prefill: fc.array(anEvent, { maxLength: 60 }),
      });
      await fc.assert(
        fc.asyncProperty(scenario, async ({ members, batches, prefill }) => {
          const { log, dispose } = await backend.open();
          const tail = new LogTail({ log, logger, batchSize: 7 });
          let stop = false;
          try {
            if (prefill.length > 0) await log.append(prefill);
            // A dead-letter style system stream: never offered.
            await log.append([event("a.created", "/shop", undefined)], { stream: "$deadletter-x" });
            await tail.start();
            const collectors: Array<{ c: Collector; after: number; filter: FilterSpec; drain: number }> = [];
            const join = async (m: (typeof members)[number], i: number) => {
              const head = await log.headPosition();
              const after = Math.floor(head * m.startFraction);
              const c = new Collector(`m${i}`, m.filter, m.capacity);
              c.tail = tail;
              tail.join(c, after);
              collectors.push({ c, after, filter: m.filter, drain: m.drainPerTick });
            };
            const consumer = (async () => {
              while (!stop) {
                for (const { c, drain } of collectors) c.drain(drain);
                await new Promise((resolve) => setImmediate(resolve));
              }
            })();
            for (const [b, batch] of batches.entries()) {
              const joining = members.map((m, i) => ({ m, i })).filter(({ m }) => m.joinAfterBatch === b);
              // Joins and the append race: none of them is awaited before the other starts.
              await Promise.all([log.append(batch), ...joining.map(({ m, i }) => join(m, i))]);
            }
            for (const [i, m] of members.entries()) if (m.joinAfterBatch >= batches.length) await join(m, i);
            // One more commit: a member that joined at the head while the tail still read up to it is
            // admitted as the tail passes its start.
            await log.append([event("z.last", "/end", undefined)]);
            const head = await log.headPosition();
            await until(() => tail.position >= head, "the tail to reach the head");
            await until(
              () => collectors.every(({ c }) => !tail.isBehind(c) && c.window.length === 0),
              "every member to drain and go live",
            );
            for (const { c, after, filter: f } of collectors) {
              assert.deepEqual(c.received, await expected(log, f, after), `member ${c.id} from ${after}`);
            }
            assert.deepEqual(tail.counts, { live: collectors.length, behind: 0, ahead: 0 });
            stop = true;
            await consumer;
          } finally {
            stop = true;
            await tail.stop();
            await dispose();
          }
        }),
        { numRuns: backend.name === "memory" ? 40 : 15 },
      );
    });

    it("reads and decodes each event once for any number of members that match nothing", async () => {
      const { log, dispose } = await backend.open();
      const tail = new LogTail({ log, logger });
      try {
        await tail.start();
        const members = Array.from(
          { length: 1000 },
          (_, i) => new Collector(`idle-${i}`, { types: [`none.${i}`] }, 10),
        );
        for (const m of members) tail.join(m, tail.position);
        let matcherCalls = 0;
        const spy = new Collector("all", {}, 100_000);
        const matches = spy.matches.bind(spy);
        spy.matches = (stored) => {
          matcherCalls++;
          return matches(stored);
        };
        tail.join(spy, tail.position);
        const results = await log.append(
          Array.from({ length: 200 }, () => event("a.created", "/shop", undefined)),
        );
        await until(() => tail.position >= results.at(-1)!.position, "the tail");
        assert.equal(spy.received.length, 200);
        assert.equal(matcherCalls, 200, "the one unindexed member ran its filter once per event");
        assert.ok(
          members.every((m) => m.offers === 0),
          "members filed under other types were never offered anything",
        );
      } finally {
        await tail.stop();
        await dispose();
      }
    });

    it("with no live member the tail reads nothing, and jumps to the start of the next to join", async () => {
      const { log, dispose } = await backend.open();
      const tail = new LogTail({ log, logger });
      try {
        await tail.start();
        const before = tail.position;
        await log.append(Array.from({ length: 50 }, () => event("a.created", "/shop", undefined)));
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(tail.position, before, "nothing read for nobody");
        const head = await log.headPosition();
        const late = new Collector("late", {}, 100);
        tail.join(late, head);
        const results = await log.append(
          Array.from({ length: 3 }, () => event("b.created", "/shop", undefined)),
        );
        await until(() => late.received.length === 3, "late to get the new events");
        assert.deepEqual(
          late.received,
          results.map((r) => r.position),
        );
        assert.deepEqual(tail.counts, { live: 1, behind: 0, ahead: 0 });
      } finally {
        await tail.stop();
        await dispose();
      }
    });

    it("a member that starts past the head joins as the tail passes its start", async () => {
      const { log, dispose } = await backend.open();
      const tail = new LogTail({ log, logger });
      try {
        await log.append([event("a.created", "/shop", undefined)]);
        await tail.start();
        const start = tail.position + 5;
        const early = new Collector("early", {}, 100);
        tail.join(early, start);
        assert.equal(tail.positionOf(early), start);
        assert.deepEqual(tail.counts, { live: 0, behind: 0, ahead: 1 });
        const results = await log.append(
          Array.from({ length: 10 }, () => event("a.created", "/shop", undefined)),
        );
        await until(() => tail.position >= results.at(-1)!.position, "the tail");
        assert.deepEqual(
          early.received,
          results.map((r) => r.position).filter((p) => p > start),
        );
        assert.deepEqual(tail.counts, { live: 1, behind: 0, ahead: 0 });
      } finally {
        await tail.stop();
        await dispose();
      }
    });

    it("a member whose window is full falls behind, then catches up from where it stopped", async () => {
      const { log, dispose } = await backend.open();
      const tail = new LogTail({ log, logger, batchSize: 5 });
      try {
        await tail.start();
        const slow = new Collector("slow", { types: ["a.created"] }, 4);
        slow.tail = tail;
        tail.join(slow, tail.position);
        const results = await log.append(
          Array.from({ length: 30 }, () => event("a.created", "/shop", undefined)),
        );
        // With no live member left, the tail stops reading: nobody would get what it reads.
        await until(() => tail.isBehind(slow), "slow to fall behind");
        assert.equal(slow.received.length, 4);
        assert.ok(tail.isBehind(slow));
        assert.equal(tail.positionOf(slow), results[3]!.position, "behind at the last event it took");
        while (slow.received.length < 30) {
          slow.drain(4);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        assert.deepEqual(
          slow.received,
          results.map((r) => r.position),
        );
        slow.drain(4);
        await until(() => !tail.isBehind(slow), "slow to rejoin the live tail");
      } finally {
        await tail.stop();
        await dispose();
      }
    });
  });
}
