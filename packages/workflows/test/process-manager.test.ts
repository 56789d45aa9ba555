// The process manager on an in-memory log: race-free, idempotent starts (a reply that overtakes the
// starting event is parked, never lost, also with two managers racing), the outbox finished by the
// redelivery after a failure between store and publish, correlation stamping, timers.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { eventLogStore } from "@herald/eventsourcing";
import { createMemoryLog } from "@herald/log";
import { defineEvent, EventDataValidationError, RetryableError } from "@herald/sdk";
import {
  type EventMapOf,
  type ProcessDefinition,
  ProcessManager,
  StepError,
  TIMER_EVENT_TYPE,
} from "@herald/workflows";
import { Type } from "@sinclair/typebox";
import { TestClock, WorkflowHarness } from "@herald/workflows/testing";
import fc from "fast-check";

interface Ping {
  readonly replies: number;
}
type PingEvents = { "ping.start": { n: number }; "ping.reply": { n: number }; "ping.extra": { n: number } };

const ping: ProcessDefinition<Ping, PingEvents> = {
  name: "ping",
  initialState: () => ({ replies: 0 }),
  final: ["done", "late"],
  on: {
    "ping.start": (instance, event) =>
      instance.status === "new"
        ? {
            status: "waiting",
            emit: [{ type: "ping.sent", data: { n: event.data.n } }],
            timeouts: [{ name: "late", after: 1_000 }],
          }
        : {}, // a second start of the same instance: consumed, nothing happens
    "ping.reply": (instance) =>
      instance.status === "waiting"
        ? { status: "done", state: { replies: instance.state.replies + 1 } }
        : undefined,
  },
  onTimeout: { late: () => ({ status: "late" }) },
};

const ev = (type: string, key: string, id: string, n = 1) =>
  new CloudEvent({ source: "urn:test", type, id, correlationid: key, data: { n } });

test("a reply that arrives before the instance exists is parked, then applied after the start", async () => {
  const h = new WorkflowHarness(ping);
  try {
    assert.deepEqual(await h.deliver(ev("ping.reply", "k1", "r1")), ["parked"]);
    const version = (await h.instance("k1"))?.version;
    assert.deepEqual(await h.deliver(ev("ping.reply", "k1", "r1")), ["parked"], "redelivered while parked");
    assert.equal((await h.instance("k1"))?.version, version, "parked once");
    assert.equal((await h.instance("k1"))?.parked.length, 1);
    assert.deepEqual(await h.deliver(ev("ping.start", "k1", "s1")), ["stepped"]);
    const instance = await h.instance("k1");
    assert.equal(instance?.status, "done");
    assert.deepEqual(instance?.state, { replies: 1 });
    assert.equal(instance?.parked.length, 0);
    assert.equal(instance?.undispatched, 0);
    assert.deepEqual(
      h.published.map((e) => e.type),
      ["ping.sent"],
    );
    // Done: the late timer was cancelled and a redelivered reply is a duplicate.
    assert.deepEqual(await h.deliver({ advance: 5_000 }), []);
    assert.deepEqual(await h.deliver(ev("ping.reply", "k1", "r1")), ["duplicate"]);
  } finally {
    await h.close();
  }
});

test("starting is idempotent: the same event twice steps once, another start of the instance changes nothing", async () => {
  const h = new WorkflowHarness(ping);
  try {
    assert.deepEqual(await h.deliver(ev("ping.start", "k1", "s1")), ["stepped"]);
    assert.deepEqual(await h.deliver(ev("ping.start", "k1", "s1")), ["duplicate"]);
    assert.deepEqual(await h.deliver(ev("ping.start", "k1", "s2")), ["stepped"]);
    assert.equal((await h.instance("k1"))?.status, "waiting");
    assert.deepEqual(
      h.published.map((e) => e.type),
      ["ping.sent"],
    );
  } finally {
    await h.close();
  }
});

test("two managers over one log race start and reply of many instances: none lost, each started once", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }), async (replyFirst) => {
      const log = createMemoryLog();
      const clock = new TestClock();
      const published: CloudEvent[] = [];
      const manager = () =>
        new ProcessManager({
          definition: ping,
          store: eventLogStore(log),
          publish: async (events) => {
            published.push(...events);
          },
          timers: clock,
          clock,
          maxRetries: 50,
        });
      const [a, b] = [manager(), manager()];
      try {
        await Promise.all(
          replyFirst.flatMap((first, i) => {
            const start = ev("ping.start", `k${i}`, `s${i}`);
            const reply = ev("ping.reply", `k${i}`, `r${i}`);
            const [x, y] = first ? [reply, start] : [start, reply];
            return [a.handleEvent(x), b.handleEvent(y)];
          }),
        );
        for (let i = 0; i < replyFirst.length; i++) {
          const instance = await a.instance(`k${i}`);
          assert.equal(instance?.status, "done", `k${i}`);
          assert.deepEqual(instance?.state, { replies: 1 });
        }
        const ids = published.filter((e) => e.type === "ping.sent").map((e) => e.id);
        assert.equal(new Set(ids).size, replyFirst.length, "one ping.sent id per instance");
      } finally {
        await log.close();
      }
    }),
    { numRuns: 25 },
  );
});

test("a failure between storing a step and publishing it: the redelivery publishes it, with the same ids", async () => {
  const log = createMemoryLog();
  const clock = new TestClock();
  const published: CloudEvent[] = [];
  let failNext = true;
  const manager = new ProcessManager({
    definition: ping,
    store: eventLogStore(log),
    publish: async (events) => {
      if (failNext) {
        failNext = false;
        throw new Error("broker down");
      }
      published.push(...events);
    },
    timers: clock,
    clock,
  });
  try {
    const start = ev("ping.start", "k1", "s1");
    await assert.rejects(manager.handleEvent(start), /broker down/);
    const stored = await manager.instance("k1");
    assert.equal(stored?.status, "waiting");
    assert.equal(stored?.undispatched, 1);
    assert.deepEqual(clock.pending(), [], "nothing scheduled before the events are out");
    assert.equal(await manager.handleEvent(start), "duplicate");
    assert.equal((await manager.instance("k1"))?.undispatched, 0);
    assert.equal(published.length, 1);
    assert.equal(clock.pending().length, 1);
    // A third delivery publishes nothing more.
    assert.equal(await manager.handleEvent(start), "duplicate");
    assert.equal(published.length, 1);
  } finally {
    await log.close();
  }
});

test("emitted events carry causationid (the handled event) and correlationid (its conversation)", async () => {
  const h = new WorkflowHarness(ping);
  try {
    await h.deliver(ev("ping.start", "conv-7", "s1"));
    const [sent] = h.published;
    assert.equal(sent?.["causationid"], "s1");
    assert.equal(sent?.["correlationid"], "conv-7");
    assert.equal(sent?.source, "urn:herald:workflow:ping");
    // The same step decided again derives the same id (the broker's dedupe keeps one copy).
    const again = new WorkflowHarness(ping);
    await again.deliver(ev("ping.start", "conv-7", "s1"));
    assert.equal(again.published[0]?.id, sent?.id);
    await again.close();
  } finally {
    await h.close();
  }
});

test("emitted events and timers continue the handled event's trace (traceparent, tracestate)", async () => {
  const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const h = new WorkflowHarness(ping);
  try {
    await h.deliver(
      new CloudEvent({
        source: "urn:test",
        type: "ping.start",
        id: "s1",
        correlationid: "k1",
        traceparent,
        tracestate: "vendor=1",
        data: { n: 1 },
      }),
    );
    assert.equal(h.published[0]?.["traceparent"], traceparent);
    assert.equal(h.published[0]?.["tracestate"], "vendor=1");
    // The timer carries it too, so what the timeout step sends stays in the same trace.
    const [pending] = h.clock.pending();
    assert.equal(pending?.timer["traceparent"], traceparent);
    // An event that carries no trace starts none.
    await h.deliver(ev("ping.start", "k2", "s2"));
    assert.equal(h.published[1]?.["traceparent"], undefined);
  } finally {
    await h.close();
  }
});

test("an event a step gives its own traceparent keeps it (the handled event's does not replace it)", async () => {
  const own = "00-11111111111111111111111111111111-2222222222222222-01";
  const linked: ProcessDefinition<Ping, PingEvents> = {
    ...ping,
    on: {
      ...ping.on,
      "ping.start": () => ({
        status: "waiting",
        emit: [{ type: "ping.sent", traceparent: own, data: { n: 1 } }],
      }),
    },
  };
  const h = new WorkflowHarness(linked);
  try {
    const handled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    await h.deliver(
      new CloudEvent({
        source: "urn:test",
        type: "ping.start",
        id: "s1",
        correlationid: "k1",
        traceparent: handled,
        data: { n: 1 },
      }),
    );
    assert.equal(h.published[0]?.["traceparent"], own);
  } finally {
    await h.close();
  }
});

test("a timer fires only while the instance is in the entry that scheduled it, and never early", async () => {
  const h = new WorkflowHarness(ping);
  try {
    await h.deliver(ev("ping.start", "k1", "s1"));
    const [pending] = h.clock.pending();
    assert.equal(pending?.timer.type, TIMER_EVENT_TYPE);
    assert.equal(pending?.at.getTime(), h.clock.now() + 1_000);
    // Delivered early (a broker without scheduled delivery): refused with the delay until due.
    await assert.rejects(h.manager.handleEvent(pending!.timer), (error: unknown) => {
      assert.ok(error instanceof RetryableError);
      assert.equal(error.delayMs, 1_000);
      return true;
    });
    assert.deepEqual(await h.deliver({ advance: 1_000 }), ["stepped"]);
    assert.equal((await h.instance("k1"))?.status, "late");
    // The same timer again (a second broker delivery): a duplicate.
    assert.equal(await h.manager.handleEvent(pending!.timer), "duplicate");

    // In another instance the reply came first: its timer, delivered anyway, is stale.
    await h.deliver(ev("ping.start", "k2", "s2"));
    const timer = h.clock.pending()[0]!.timer;
    await h.deliver(ev("ping.reply", "k2", "r2"));
    assert.deepEqual(h.clock.pending(), [], "cancelled when the instance left the entry");
    h.clock.advance(1_000);
    assert.equal(await h.manager.handleEvent(timer), "ignored"); // k2 is final
    assert.equal((await h.instance("k2"))?.status, "done");
  } finally {
    await h.close();
  }
});

test("events without a key, of other types, or timers of another process are ignored", async () => {
  const h = new WorkflowHarness({
    ...ping,
    correlate: (e) => (e.subject === undefined ? undefined : e.subject),
  });
  try {
    assert.deepEqual(await h.deliver({ type: "ping.start", data: { n: 1 } }), ["ignored"]);
    assert.deepEqual(await h.deliver({ type: "other", subject: "k" }), ["ignored"]);
    const foreign = new CloudEvent({
      source: "urn:x",
      type: TIMER_EVENT_TYPE,
      data: {
        process: "other",
        key: "k",
        name: "late",
        status: "waiting",
        entry: 1,
        at: new Date(0).toISOString(),
      },
    });
    assert.equal(await h.manager.handleEvent(foreign), "ignored");
  } finally {
    await h.close();
  }
});

test("with an event catalog, events are upcast and validated before their step; invalid ones are refused", async () => {
  const Started = defineEvent({
    type: "typed.start",
    version: 2,
    schema: Type.Object({ n: Type.Integer() }),
    upcasters: { 1: (d) => ({ n: Number((d as { count: string }).count) }) },
  });
  const catalog = { "typed.start": Started };
  const typed: ProcessDefinition<{ n: number }, EventMapOf<typeof catalog>> = {
    name: "typed",
    events: catalog,
    initialState: () => ({ n: 0 }),
    on: { "typed.start": (_i, event) => ({ status: "started", state: { n: event.data.n } }) },
  };
  const h = new WorkflowHarness(typed);
  try {
    assert.deepEqual(await h.deliver({ type: "typed.start", correlationid: "k", data: { count: "4" } }), [
      "stepped",
    ]);
    assert.deepEqual((await h.instance("k"))?.state, { n: 4 });
    await assert.rejects(
      h.deliver({ type: "typed.start", correlationid: "k2", dataversion: 2, data: { n: "x" } }),
      EventDataValidationError,
    );
    assert.equal(await h.instance("k2"), undefined);
  } finally {
    await h.close();
  }
});

test("a timeout `at` a time fires when the clock reaches it; a step that throws fails the event with StepError", async () => {
  const alarm: ProcessDefinition<null, { "alarm.set": { at: string }; "alarm.boom": unknown }> = {
    name: "alarm",
    initialState: () => null,
    on: {
      "alarm.set": (_i, event) => ({ status: "set", timeouts: [{ name: "ring", at: event.data.at }] }),
      "alarm.boom": () => {
        throw new Error("boom");
      },
    },
    onTimeout: { ring: () => ({ status: "rung", emit: [{ type: "alarm.rang" }] }) },
  };
  const h = new WorkflowHarness(alarm, { start: Date.UTC(2026, 0, 1, 12) });
  try {
    await h.deliver({ type: "alarm.set", correlationid: "a", data: { at: "2026-01-01T12:10:00Z" } });
    assert.deepEqual(await h.deliver({ advance: 9 * 60_000 }), []);
    assert.deepEqual(await h.deliver({ advance: 60_000 }), ["stepped"]);
    assert.equal((await h.instance("a"))?.status, "rung");
    assert.deepEqual(
      h.published.map((e) => e.type),
      ["alarm.rang"],
    );
    await assert.rejects(h.deliver({ type: "alarm.boom", correlationid: "a" }), StepError);
    assert.equal((await h.instance("a"))?.steps, 2, "nothing stored for the failed step");
  } finally {
    await h.close();
  }
});
