// POST /subscriptions/{id}/reset over real HTTP: the four targets, dry runs, revoked leases, kept
// identity and dead letters, refusals, and the race with appends and deliveries.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ack, createSubscription, type PulledMessage, pull } from "./support/consumer.js";
import { api, type Harness, makeEvent, sleep, startHarness, waitFor } from "./support/harness.js";
import { startSink } from "./support/sink.js";

interface ResetAnswer {
  id: string;
  checkpoint: number;
  redeliver: number;
  dryRun: boolean;
}

async function reset(h: Harness, id: string, body: unknown): Promise<ResetAnswer> {
  const res = await api(h.url, "POST", `/subscriptions/${id}/reset`, body);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as ResetAnswer;
}

async function drain(h: Harness, id: string): Promise<PulledMessage[]> {
  const out: PulledMessage[] = [];
  for (;;) {
    const batch = await pull(h.url, id, 100, 0);
    if (batch.length === 0) return out;
    out.push(...batch);
    await ack(h.url, id, batch);
  }
}

describe("subscription reset", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close({ closeLog: true });
  });

  it("rewinds to the beginning keeping settings; a dry run moves nothing; old ack ids become unknown", async () => {
    await createSubscription(h.url, { id: "rw", types: ["rw.hit"], config: { maxDeliveries: 3 } });
    const stored = await h.log.append([
      makeEvent({ type: "rw.hit", subject: "a" }),
      makeEvent({ type: "rw.miss", subject: "a" }),
      makeEvent({ type: "rw.hit", subject: "b" }),
    ]);
    const first = await waitFor(async () => {
      const got = await drain(h, "rw");
      return got.length > 0 ? got : undefined;
    });
    assert.deepEqual(
      first.map((m) => m.position),
      [stored[0]!.position, stored[2]!.position],
    );
    const before = await api(h.url, "GET", "/subscriptions/rw");
    await h.log.append([makeEvent({ type: "rw.hit", subject: "c" })]);
    const [held] = await pull(h.url, "rw", 1, 1000);
    assert.ok(held);

    const dry = await reset(h, "rw", { to: "beginning", dryRun: true });
    assert.deepEqual(dry, { id: "rw", checkpoint: 0, redeliver: 3, dryRun: true });
    // The dry run left the lease alone.
    assert.equal(await ack(h.url, "rw", [held]), 1);

    const answer = await reset(h, "rw", { to: "beginning" });
    assert.deepEqual(answer, { id: "rw", checkpoint: 0, redeliver: 3, dryRun: false });
    const again = await drain(h, "rw");
    assert.deepEqual(
      again.map((m) => m.event.subject),
      ["a", "b", "c"],
    );
    assert.ok(again.every((m) => m.deliveryCount === 1));
    assert.deepEqual((await api(h.url, "GET", "/subscriptions/rw")).body, before.body);
    const stats = (await api(h.url, "GET", "/subscriptions/rw/stats")).body as Record<string, number>;
    assert.equal(stats.lag, 0);
    assert.equal(stats.delivered, 6);
  });

  it("revokes leases: acks and nacks of old ack ids answer unknown", async () => {
    await createSubscription(h.url, { id: "rv", types: ["rv.hit"] });
    await h.log.append([makeEvent({ type: "rv.hit", subject: "x" })]);
    const [m] = await pull(h.url, "rv", 1, 2000);
    assert.ok(m);
    await reset(h, "rv", { to: "beginning" });
    const acked = await api(h.url, "POST", "/subscriptions/rv/ack", { ackIds: [m.ackId] });
    assert.deepEqual(acked.body, { acked: 0, unknown: [m.ackId] });
    const nacked = await api(h.url, "POST", "/subscriptions/rv/nack", { ackIds: [m.ackId] });
    assert.deepEqual(nacked.body, { nacked: 0, unknown: [m.ackId] });
    const [fresh] = await pull(h.url, "rv", 1, 2000);
    assert.equal(fresh?.position, m.position);
    assert.equal(fresh?.deliveryCount, 1);
    assert.notEqual(fresh?.ackId, m.ackId);
  });

  it("moves to a position, to a time and to now", async () => {
    await createSubscription(h.url, { id: "mv", types: ["mv.hit"] });
    const early = await h.log.append([
      makeEvent({ type: "mv.hit", subject: "p" }),
      makeEvent({ type: "mv.hit", subject: "p" }),
    ]);
    await sleep(30);
    const time = new Date().toISOString();
    await sleep(30);
    const late = await h.log.append([makeEvent({ type: "mv.hit", subject: "p" })]);
    await waitFor(async () => ((await drain(h, "mv")).length > 0 ? true : undefined));
    await drain(h, "mv");

    const byPosition = await reset(h, "mv", { position: early[1]!.position });
    assert.equal(byPosition.checkpoint, early[1]!.position - 1);
    assert.equal(byPosition.redeliver, 2);
    assert.deepEqual(
      (await drain(h, "mv")).map((m) => m.position),
      [early[1]!.position, late[0]!.position],
    );

    const byTime = await reset(h, "mv", { time });
    assert.equal(byTime.checkpoint, late[0]!.position - 1);
    assert.equal(byTime.redeliver, 1);
    assert.deepEqual(
      (await drain(h, "mv")).map((m) => m.position),
      [late[0]!.position],
    );

    await reset(h, "mv", { to: "beginning" });
    const now = await reset(h, "mv", { to: "now" });
    assert.equal(now.redeliver, 0);
    assert.deepEqual(await pull(h.url, "mv", 10, 100), []);
    const next = await h.log.append([makeEvent({ type: "mv.hit", subject: "p" })]);
    const [m] = await pull(h.url, "mv", 10, 2000);
    assert.equal(m?.position, next[0]!.position);
  });

  it("abandons a push in flight: no ack, no retry from it; the new position is pushed once", async () => {
    let release: (() => void) | undefined;
    const sink = await startSink(async (_req, res, index) => {
      // The first attempt hangs until the test lets it answer 204 (after the reset).
      if (index === 0) await new Promise<void>((resolve) => (release = resolve));
      res.writeHead(204);
      res.end();
    });
    try {
      await createSubscription(h.url, { id: "ph", sink: sink.url, types: ["ph.hit"] });
      const event = makeEvent({ type: "ph.hit", subject: "q" });
      const [stored] = await h.log.append([event]);
      await waitFor(() => (sink.received.length === 1 ? true : undefined), 5_000, "first push");
      const answer = await reset(h, "ph", { to: "beginning" });
      assert.equal(answer.redeliver, 1);
      await waitFor(() => (sink.received.length === 2 ? true : undefined), 5_000, "push after the reset");
      release?.();
      await sleep(300);
      assert.equal(sink.received.length, 2);
      assert.equal(sink.received[1]!.headers["ce-id"], event.id);
      const stats = (await api(h.url, "GET", "/subscriptions/ph/stats")).body as Record<string, number>;
      assert.equal(stats.delivered, 1, "the abandoned attempt acked nothing");
      assert.equal(stats.retried, 0);
      assert.equal(stats.inFlight, 0);
      assert.equal(stats.checkpoint, stored!.position);
    } finally {
      release?.();
      await sink.close();
    }
  });

  it("keeps dead letters across a reset", async () => {
    await createSubscription(h.url, { id: "dl", types: ["dl.hit"], config: { maxDeliveries: 1 } });
    await h.log.append([makeEvent({ type: "dl.hit", subject: "d" })]);
    const [m] = await pull(h.url, "dl", 1, 2000);
    assert.ok(m);
    await api(h.url, "POST", "/subscriptions/dl/nack", { ackIds: [m.ackId] });
    const listed = await waitFor(async () => {
      const body = (await api(h.url, "GET", "/subscriptions/dl/dead-letters")).body as {
        deadLetters: unknown[];
      };
      return body.deadLetters.length === 1 ? body : undefined;
    });
    await reset(h, "dl", { to: "now" });
    assert.deepEqual((await api(h.url, "GET", "/subscriptions/dl/dead-letters")).body, listed);
  });

  it("refuses bodies without exactly one valid target, and unknown subscriptions", async () => {
    await createSubscription(h.url, { id: "bad", types: ["bad.hit"] });
    for (const [body, field] of [
      [{}, ""],
      [{ to: "beginning", position: 1 }, ""],
      [{ to: "start" }, "/to"],
      [{ position: -1 }, "/position"],
      [{ position: 1.5 }, "/position"],
      [{ time: "yesterday" }, "/time"],
      [{ to: "now", dryRun: "yes" }, "/dryRun"],
      [{ to: "now", extra: 1 }, "/extra"],
      [["beginning"], ""],
    ] as const) {
      const res = await api(h.url, "POST", "/subscriptions/bad/reset", body);
      assert.equal(res.status, 400, JSON.stringify(body));
      const problem = res.body as { code: string; errors: Array<{ field: string }> };
      assert.equal(problem.code, "reset-invalid");
      assert.ok(
        problem.errors.some((e) => e.field === field),
        `${JSON.stringify(body)}: ${JSON.stringify(problem.errors)}`,
      );
    }
    const missing = await api(h.url, "POST", "/subscriptions/nope/reset", { to: "now" });
    assert.equal(missing.status, 404);
    assert.equal((missing.body as { code: string }).code, "subscription-not-found");
  });

  it("under appends and deliveries, delivers exactly the matching events from the new position", async () => {
    await createSubscription(h.url, { id: "race", types: ["race.hit"], config: { ackTimeoutMs: 60_000 } });
    const hits: number[] = [];
    let appending = true;
    const appender = (async () => {
      for (let i = 0; appending; i++) {
        const type = i % 3 === 2 ? "race.miss" : "race.hit";
        const [s] = await h.log.append([makeEvent({ type, subject: `s${i % 4}` })]);
        if (type === "race.hit") hits.push(s!.position);
        await sleep(1);
      }
    })();
    await waitFor(() => (hits.length >= 60 ? true : undefined), 10_000, "appends");
    const target = hits[20]!;

    let phase: "before" | "during" | "after" = "before";
    const held: PulledMessage[] = [];
    const accepted: number[] = [];
    let consuming = true;
    // Acks the messages and records those the subscription accepted (an old lease answers unknown).
    const settle = async (messages: readonly PulledMessage[]) => {
      const res = await api(h.url, "POST", "/subscriptions/race/ack", {
        ackIds: messages.map((m) => m.ackId),
      });
      const unknown = new Set((res.body as { unknown: string[] }).unknown);
      for (const m of messages) if (!unknown.has(m.ackId)) accepted.push(m.position);
    };
    const consumer = (async () => {
      while (consuming) {
        const startedIn = phase;
        const batch = await pull(h.url, "race", 20, 50);
        if (startedIn === "before") {
          // Leased before the reset was asked for: from the old position, not counted.
          if (phase === "before" && batch.length > 0) await ack(h.url, "race", batch);
        } else if (startedIn === "during") {
          held.push(...batch);
        } else {
          if (held.length > 0) await settle(held.splice(0));
          if (batch.length > 0) await settle(batch);
        }
      }
    })();
    await sleep(100);
    phase = "during";
    const answer = await reset(h, "race", { position: target });
    phase = "after";
    assert.equal(answer.checkpoint, target - 1);
    await sleep(300);
    appending = false;
    await appender;
    const expected = hits.filter((p) => p >= target);
    await waitFor(
      () => (accepted.length >= expected.length ? true : undefined),
      20_000,
      `${expected.length} deliveries after the reset`,
    );
    await sleep(100);
    consuming = false;
    await consumer;
    assert.deepEqual(
      [...accepted].sort((a, b) => a - b),
      expected,
    );
  });
});

describe("subscription reset count on a long log", () => {
  it("stops counting after the scan limit and says the count is an upper bound", async () => {
    const h = await startHarness({ resetCountScan: 10 });
    try {
      await createSubscription(h.url, { id: "long", types: ["long.match"], config: { start: "now" } });
      // 30 events, one in three matching: an exact count is 10; cut after 10 positions it is 3 + 20.
      const events = Array.from({ length: 30 }, (_, i) =>
        makeEvent({ type: i % 3 === 0 ? "long.match" : "long.other", subject: `s-${i}` }),
      );
      await h.log.append(events);
      const cut = (await api(h.url, "POST", "/subscriptions/long/reset", { to: "beginning", dryRun: true }))
        .body as Record<string, unknown>;
      assert.deepEqual(cut, {
        id: "long",
        checkpoint: 0,
        redeliver: 24,
        redeliverExact: false,
        dryRun: true,
      });
      const near = (await api(h.url, "POST", "/subscriptions/long/reset", { position: 25, dryRun: true }))
        .body as Record<string, unknown>;
      assert.deepEqual(near, { id: "long", checkpoint: 24, redeliver: 2, dryRun: true });
    } finally {
      await h.close({ closeLog: true });
    }
  });
});
