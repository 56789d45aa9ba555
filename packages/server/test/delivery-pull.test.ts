// Pull consumers over real HTTP: long-poll, ack/nack, ack deadlines, delivery counts, dead letters,
// ordering, maxInFlight, start positions and load sharing between consumers.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createMemoryLog, type EventLog } from "@herald/log";
import { ack, createSubscription, type PulledMessage, pull } from "./support/consumer.js";
import { api, type Harness, makeEvent, sleep, startHarness, waitFor } from "./support/harness.js";

describe("pull delivery", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close({ closeLog: true });
  });

  it("long-polls until an event arrives; ack settles it", async () => {
    await createSubscription(h.url, { id: "lp", types: ["lp.thing"] });
    const waiting = pull(h.url, "lp", 10, 3000);
    await sleep(50);
    const [stored] = await h.log.append([makeEvent({ type: "lp.thing", subject: "thing-1" })]);
    const messages = await waiting;
    assert.equal(messages.length, 1);
    const [m] = messages as [PulledMessage];
    assert.equal(m.deliveryCount, 1);
    assert.equal(m.position, stored!.position);
    assert.equal(m.stream, "thing-1");
    assert.equal(m.event.type, "lp.thing");
    assert.equal(await ack(h.url, "lp", messages), 1);
    assert.deepEqual(await pull(h.url, "lp", 10, 0), []);
    const again = await api(h.url, "POST", "/subscriptions/lp/ack", { ackIds: [m.ackId] });
    assert.deepEqual(again.body, { acked: 0, unknown: [m.ackId] });
    const stats = (await api(h.url, "GET", "/subscriptions/lp/stats")).body as Record<string, number>;
    assert.equal(stats.lag, 0);
    assert.equal(stats.delivered, 1);
    assert.equal(stats.inFlight, 0);
  });

  it("a long-poll that times out answers an empty list", async () => {
    await createSubscription(h.url, { id: "empty", types: ["never.sent"] });
    const started = Date.now();
    assert.deepEqual(await pull(h.url, "empty", 5, 150), []);
    assert.ok(Date.now() - started >= 140);
  });

  it("a long-poll whose client hung up takes nothing with it", async () => {
    await createSubscription(h.url, { id: "hangup", types: ["hang.thing"] });
    const controller = new AbortController();
    const abandoned = fetch(`${h.url}/subscriptions/hangup/pull`, {
      method: "POST",
      body: JSON.stringify({ max: 10, waitMs: 5000 }),
      signal: controller.signal,
    }).catch(() => undefined);
    await sleep(50);
    controller.abort();
    await abandoned;
    await sleep(50);
    await h.log.append([makeEvent({ type: "hang.thing" })]);
    const [m] = await pull(h.url, "hangup", 10, 1000);
    assert.equal(m?.deliveryCount, 1);
  });

  it("nack with delayMs redelivers after the delay with deliveryCount + 1", async () => {
    await createSubscription(h.url, { id: "nk", types: ["nk.thing"] });
    await h.log.append([makeEvent({ type: "nk.thing" })]);
    const [first] = await pull(h.url, "nk", 1, 1000);
    const nackedAt = Date.now(); // before the request: the server's delay starts later than this
    const res = await api(h.url, "POST", "/subscriptions/nk/nack", { ackIds: [first!.ackId], delayMs: 400 });
    assert.deepEqual(res.body, { nacked: 1, unknown: [] });
    assert.deepEqual(await pull(h.url, "nk", 1, 0), []);
    const [second] = await pull(h.url, "nk", 1, 2000);
    assert.ok(Date.now() - nackedAt >= 395, "redelivered too early");
    assert.equal(second!.deliveryCount, 2);
    assert.equal(second!.event.id, first!.event.id);
    await ack(h.url, "nk", [second!]);
  });

  it("unacked messages come back after ackTimeoutMs, then go to the dead-letter stream", async () => {
    await createSubscription(h.url, {
      id: "to",
      types: ["to.thing"],
      config: { ackTimeoutMs: 60, maxDeliveries: 3, backoff: { baseMs: 1, capMs: 5 } },
    });
    const [stored] = await h.log.append([makeEvent({ type: "to.thing", data: { keep: "me" } })]);
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [m] = await pull(h.url, "to", 1, 2000);
      counts.push(m!.deliveryCount);
    }
    assert.deepEqual(counts, [1, 2, 3]);
    const dead = await waitFor(async () => {
      const res = await api(h.url, "GET", "/subscriptions/to/dead-letters");
      const list = (res.body as { deadLetters: Array<Record<string, unknown>> }).deadLetters;
      return list.length > 0 ? list : undefined;
    });
    assert.equal(dead.length, 1);
    const [letter] = dead as [Record<string, unknown>];
    assert.equal(letter.reason, "max-deliveries");
    assert.equal(letter.attempts, 3);
    assert.equal(letter.position, stored!.position);
    assert.match(String(letter.lastError), /not acknowledged/);
    assert.deepEqual((letter.event as Record<string, unknown>).data, { keep: "me" });
    assert.ok(Date.parse(String(letter.lastAttemptAt)) >= Date.parse(String(letter.firstAttemptAt)));
    assert.deepEqual(await pull(h.url, "to", 1, 100), []);
    // The dead letter lives in the subscription's system stream.
    const [dl] = await h.log.readStream("$deadletter-to");
    assert.equal(JSON.parse(dl!.json).type, "herald.deadletter");
  });

  it('ordering "key": one unacked event per stream, different streams in parallel', async () => {
    await createSubscription(h.url, { id: "ord", types: ["ord.thing"] });
    await h.log.append([
      makeEvent({ type: "ord.thing", subject: "A" }),
      makeEvent({ type: "ord.thing", subject: "A" }),
      makeEvent({ type: "ord.thing", subject: "B" }),
      makeEvent({ type: "ord.thing", subject: "A" }),
    ]);
    const first = await pull(h.url, "ord", 10, 1000);
    assert.deepEqual(
      first.map((m) => m.stream),
      ["A", "B"],
    );
    assert.deepEqual(await pull(h.url, "ord", 10, 0), []);
    await ack(h.url, "ord", [first[0]!]);
    const second = await pull(h.url, "ord", 10, 0);
    assert.equal(second.length, 1);
    assert.equal(second[0]!.stream, "A");
    assert.ok(second[0]!.position > first[0]!.position);
  });

  it('ordering "none" and maxInFlight bound what is handed out', async () => {
    await createSubscription(h.url, {
      id: "mif",
      types: ["mif.thing"],
      config: { ordering: "none", maxInFlight: 2 },
    });
    await h.log.append([1, 2, 3, 4, 5].map(() => makeEvent({ type: "mif.thing", subject: "same" })));
    const first = await pull(h.url, "mif", 10, 1000);
    assert.equal(first.length, 2);
    assert.deepEqual(await pull(h.url, "mif", 10, 0), []);
    await ack(h.url, "mif", first);
    assert.equal((await pull(h.url, "mif", 10, 0)).length, 2);
  });

  it("several pull consumers share one subscription's load", async () => {
    await createSubscription(h.url, { id: "group", types: ["grp.thing"], config: { maxInFlight: 8 } });
    const total = 40;
    await h.log.append(
      Array.from({ length: total }, (_, i) => makeEvent({ type: "grp.thing", subject: `s${i % 10}` })),
    );
    const seen = new Map<string, number>();
    const perConsumer = [0, 0, 0];
    await Promise.all(
      perConsumer.map(async (_, c) => {
        for (;;) {
          const messages = await pull(h.url, "group", 3, 300);
          if (messages.length === 0) return;
          for (const m of messages) seen.set(m.event.id, (seen.get(m.event.id) ?? 0) + 1);
          perConsumer[c]! += messages.length;
          await sleep(5);
          await ack(h.url, "group", messages);
        }
      }),
    );
    assert.equal(seen.size, total);
    assert.ok(
      [...seen.values()].every((n) => n === 1),
      "an event went to two consumers",
    );
    assert.ok(
      perConsumer.every((n) => n > 0),
      `every consumer got work: ${perConsumer}`,
    );
  });

  it("starts at beginning, now, a position or a time", async () => {
    const early = await h.log.append([makeEvent({ type: "start.t" }), makeEvent({ type: "start.t" })]);
    await sleep(20);
    const splitTime = new Date().toISOString();
    await sleep(20);
    await createSubscription(h.url, {
      id: "st-now",
      types: ["start.t"],
      config: { start: "now", ordering: "none" },
    });
    await createSubscription(h.url, {
      id: "st-begin",
      types: ["start.t"],
      config: { start: "beginning", ordering: "none" },
    });
    await createSubscription(h.url, {
      id: "st-pos",
      types: ["start.t"],
      config: { start: { position: early[1]!.position }, ordering: "none" },
    });
    await createSubscription(h.url, {
      id: "st-time",
      types: ["start.t"],
      config: { start: { time: splitTime }, ordering: "none" },
    });
    const [late] = await h.log.append([makeEvent({ type: "start.t" })]);
    const positions = async (id: string) =>
      (await pull(h.url, id, 10, 500)).map((m) => m.position).sort((a, b) => a - b);
    assert.deepEqual(await positions("st-now"), [late!.position]);
    assert.deepEqual(await positions("st-begin"), [early[0]!.position, early[1]!.position, late!.position]);
    assert.deepEqual(await positions("st-pos"), [early[1]!.position, late!.position]);
    assert.deepEqual(await positions("st-time"), [late!.position]);
  });

  it("never delivers events of $ system streams", async () => {
    await createSubscription(h.url, { id: "sys", types: ["sys.thing"] });
    await h.log.append([makeEvent({ type: "sys.thing" })], { stream: "$internal" });
    const [user] = await h.log.append([makeEvent({ type: "sys.thing" })]);
    const messages = await pull(h.url, "sys", 10, 500);
    assert.deepEqual(
      messages.map((m) => m.position),
      [user!.position],
    );
  });

  it("answers 404 for unknown subscriptions and 400 for bad pull bodies", async () => {
    assert.equal((await api(h.url, "POST", "/subscriptions/nope/pull", {})).status, 404);
    await createSubscription(h.url, { id: "bad-pull" });
    const res = await api(h.url, "POST", "/subscriptions/bad-pull/pull", { max: 0 });
    assert.equal(res.status, 400);
    assert.equal((res.body as { errors: Array<{ field: string }> }).errors[0]!.field, "/max");
    assert.equal((await api(h.url, "POST", "/subscriptions/bad-pull/ack", { ackIds: "x" })).status, 400);
  });

  it("lag counts matching unacked events, buffered or still in the log", async () => {
    await createSubscription(h.url, { id: "lag", types: ["lag.match"] });
    const events = Array.from({ length: 600 }, (_, i) =>
      makeEvent({ type: i % 2 === 0 ? "lag.match" : "lag.other", subject: `s${i % 7}` }),
    );
    await h.log.append(events);
    const stats = async () =>
      (await api(h.url, "GET", "/subscriptions/lag/stats")).body as Record<string, unknown>;
    // The window holds at most 256 events; the rest are counted by scanning the log.
    const before = await waitFor(async () => {
      const s = await stats();
      return s.buffered === 256 ? s : undefined;
    });
    assert.equal(before.lag, 300);
    assert.equal(before.lagExact, true);
    const messages = await pull(h.url, "lag", 5, 1000);
    await ack(h.url, "lag", messages);
    assert.equal((await stats()).lag, 300 - messages.length);
  });

  it("exports per-subscription metrics on the registry", async () => {
    await createSubscription(h.url, { id: "met", types: ["met.thing"] });
    await h.log.append([makeEvent({ type: "met.thing" }), makeEvent({ type: "met.thing" })]);
    const messages = await pull(h.url, "met", 1, 1000);
    await ack(h.url, "met", messages);
    await sleep(600); // the gauge snapshot is cached for 500 ms
    const text = await h.registry.metrics();
    assert.match(text, /herald_subscription_delivered_total\{subscription="met"\} 1/);
    assert.match(text, /herald_subscription_lag\{subscription="met"\} 1/);
    assert.match(text, /herald_subscription_in_flight\{subscription="met"\} 0/);
    assert.match(text, /herald_subscription_delivery_latency_seconds_count\{subscription="met"\} 1/);
  });
});

describe("reader failures", () => {
  it("a failing log subscription is retried from where the reader got to", async () => {
    const log = createMemoryLog();
    let failures = 0;
    // The first subscription the dispatcher opens fails on its first read.
    const subscribe = (options: Parameters<EventLog["subscribe"]>[0]) => {
      if (failures > 0) return log.subscribe(options);
      failures++;
      return {
        close() {},
        [Symbol.asyncIterator]() {
          return { next: () => Promise.reject(new Error("disk hiccup")) };
        },
      };
    };
    const flaky = new Proxy(log, {
      get(target, property) {
        if (property === "subscribe") return subscribe;
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const h = await startHarness({ log: flaky });
    try {
      await createSubscription(h.url, { id: "flaky", types: ["flaky.thing"] });
      const [stored] = await log.append([makeEvent({ type: "flaky.thing" })]);
      const messages = await pull(h.url, "flaky", 10, 3000);
      assert.equal(failures, 1);
      assert.deepEqual(
        messages.map((m) => m.position),
        [stored!.position],
      );
    } finally {
      await h.close({ closeLog: true });
    }
  });
});
