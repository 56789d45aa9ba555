// Consumers against a real `herald serve`: fan-out (child-process broker), idempotency under
// redelivery, graceful stop, request-reply over push, typed validation on both ends, one trace from
// producer to consumer.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { context, trace } from "@opentelemetry/api";
import {
  deadLetterToStream,
  HeraldClient,
  NonRetryableError,
  Receiver,
  Router,
  SqliteInbox,
} from "@herald/sdk";
import { deferred } from "./support/events.js";
import { startHerald, startHeraldProcess } from "./support/herald.js";
import { exporter, spans } from "./support/otel.js";
import { pause, until } from "./support/wait.js";

let herald: Awaited<ReturnType<typeof startHerald>>;
let client: HeraldClient;
before(async () => {
  herald = await startHerald();
  client = new HeraldClient({ url: herald.url });
});
after(async () => {
  await client.close();
  await herald.close();
});

const ev = (type: string, data: unknown = {}, extra: Record<string, unknown> = {}) =>
  new CloudEvent({ source: "/it", type, data, ...extra });

test("fan-out on a broker in another process: three subscriptions each get every event", async () => {
  const broker = await startHeraldProcess();
  const remote = new HeraldClient({ url: broker.url });
  try {
    const got: Record<string, string[]> = { a: [], b: [], c: [] };
    const consumers = [];
    for (const id of Object.keys(got)) {
      await remote.createSubscription({ id, types: ["fan.out"] });
      consumers.push(remote.subscribe(id, (e) => void got[id]!.push(e.id), { waitMs: 200 }));
    }
    const events = Array.from({ length: 10 }, (_, i) => ev("fan.out", { i }));
    assert.ok((await remote.sendBatch(events)).ok);
    await remote.send(ev("not.matching"));
    await until(() => Object.values(got).every((list) => list.length === 10), 5_000, "fan-out");
    await Promise.all(consumers.map((c) => c.stop()));
    for (const list of Object.values(got)) assert.deepEqual([...list].sort(), events.map((e) => e.id).sort());
  } finally {
    await remote.close();
    await broker.close();
  }
});

test("idempotent consumer: a redelivered event (ack deadline passed) has its side effect once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "herald-sdk-inbox-"));
  const inbox = new SqliteInbox({ path: join(dir, "inbox.db") });
  try {
    await client.createSubscription({
      id: "slow-ledger",
      types: ["ledger.entry"],
      config: { ackTimeoutMs: 150, backoff: { baseMs: 20, capMs: 50 } },
    });
    const effects: string[] = [];
    const deliveries: number[] = [];
    // Two consumers (think: two processes) sharing one durable inbox.
    const consumer = () => {
      const router = new Router({ idempotency: { inbox }, retry: false }).on(
        "ledger.entry",
        async (e, ctx) => {
          effects.push(e.id);
          if (ctx.attempt === 1) await pause(400); // outlives the 150 ms lease: the broker redelivers meanwhile
        },
      );
      return client.subscribe(
        "slow-ledger",
        (e, ctx) => {
          deliveries.push(ctx.attempt);
          return router.handle(e, ctx);
        },
        { waitMs: 100 },
      );
    };
    const consumers = [consumer(), consumer()];
    const entry = ev("ledger.entry", { amount: 5 });
    assert.ok((await client.send(entry)).ok);
    const lag = async () =>
      ((await (await fetch(`${herald.url}/subscriptions/slow-ledger/stats`)).json()) as { lag: number }).lag;
    await until(() => deliveries.length >= 3, 8_000, "redeliveries");
    const settled = Date.now() + 5_000;
    while ((await lag()) !== 0 && Date.now() < settled) await pause(50);
    await Promise.all(consumers.map((c) => c.stop()));
    assert.deepEqual(effects, [entry.id], "the side effect happened once");
    assert.ok(Math.max(...deliveries) >= 3, `delivered again and again (${deliveries.join(",")})`);
    assert.equal(await lag(), 0, "finally acked");
  } finally {
    inbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("graceful stop: the running handler finishes and is acked; nothing is redelivered", async () => {
  await client.createSubscription({ id: "graceful", types: ["slow.job"], config: { ackTimeoutMs: 5_000 } });
  const started = deferred();
  let finished = 0;
  const consumer = client.subscribe(
    "graceful",
    async () => {
      started.resolve();
      await pause(200);
      finished++;
    },
    { waitMs: 100 },
  );
  assert.ok((await client.send(ev("slow.job"))).ok);
  await started.promise;
  await consumer.stop();
  assert.equal(finished, 1, "stop waited for the handler");
  // The ack went out before stop() resolved: nothing is pending or leased (the lease would run 5 s).
  const stats = (await (await fetch(`${herald.url}/subscriptions/graceful/stats`)).json()) as {
    lag: number;
    inFlight: number;
  };
  assert.deepEqual([stats.lag, stats.inFlight], [0, 0]);
});

test("failed handlings are nacked with backoff and retried by the broker until they succeed", async () => {
  await client.createSubscription({
    id: "flaky",
    types: ["flaky.job"],
    config: { backoff: { baseMs: 10, capMs: 20 } },
  });
  const attempts: number[] = [];
  const consumer = client.subscribe(
    "flaky",
    new Router({ retry: false }).on("flaky.job", (_e, ctx) => {
      attempts.push(ctx.attempt);
      if (ctx.attempt < 3) throw new Error("not yet");
    }),
    { waitMs: 100, backoff: { baseMs: 10, capMs: 20 } },
  );
  assert.ok((await client.send(ev("flaky.job"))).ok);
  await until(() => attempts.includes(3), 5_000, "third delivery");
  await consumer.stop();
  assert.deepEqual(attempts, [1, 2, 3]);
});

test("request-reply over push: a Receiver's answer is ingested as the reply", async () => {
  const secret = "whsec_c2VjcmV0LWZvci10ZXN0cw==";
  const receiver = new Receiver({
    secret,
    handler: new Router().on("quote.requested", (e) => ({
      source: "/quotes",
      type: "quote.given",
      data: { for: (e.data as { item: string }).item, cents: 250 },
    })),
  });
  const { url } = await receiver.start();
  try {
    await client.createSubscription({
      id: "quotes-push",
      types: ["quote.requested"],
      sink: url,
      config: { secret },
    });
    const reply = await client.request(ev("quote.requested", { item: "tea" }, { correlationid: "conv-9" }), {
      timeoutMs: 5_000,
    });
    assert.equal(reply.type, "quote.given");
    assert.deepEqual(reply.data, { for: "tea", cents: 250 });
    assert.equal(reply["correlationid"], "conv-9");
  } finally {
    await client.deleteSubscription("quotes-push");
    await receiver.stop();
  }
});

test("request() times out with a typed error when nobody answers", async () => {
  const err = await client.request(ev("nobody.listens"), { timeoutMs: 200 }).catch((e: unknown) => e);
  assert.equal((err as Error).name, "RequestTimeoutError");
});

test("one trace spans producer → broker → consumer", async () => {
  exporter.reset();
  await client.createSubscription({ id: "traced", types: ["traced.event"] });
  const handled = deferred();
  const consumer = client.subscribe(
    "traced",
    new Router().on("traced.event", () => handled.resolve()),
    { waitMs: 100 },
  );
  const root = trace.getTracer("test").startSpan("checkout");
  await context.with(trace.setSpan(context.active(), root), () => client.send(ev("traced.event")));
  root.end();
  await handled.promise;
  await consumer.stop();
  const traceId = root.spanContext().traceId;
  const names = spans()
    .filter((s) => s.spanContext().traceId === traceId)
    .map((s) => s.name);
  for (const name of [
    "checkout",
    "herald send traced.event",
    "herald deliver traced.event",
    "herald handle traced.event",
  ]) {
    assert.ok(names.includes(name), `${name} in the trace (have ${names.join(", ")})`);
  }
});

test("consumer-side dead letters land in a Herald stream with the reason, and the event is acked", async () => {
  await client.createSubscription({ id: "poison", types: ["poison.pill"] });
  const router = new Router({
    deadLetter: deadLetterToStream(client, "deadletter-poison", "poison-consumer"),
  }).on("poison.pill", () => {
    throw new NonRetryableError("cannot parse the order");
  });
  const consumer = client.subscribe("poison", router, { waitMs: 100 });
  const pill = ev("poison.pill", { garbage: true });
  assert.ok((await client.send(pill)).ok);
  type Page = { events: Array<{ event: Record<string, unknown> }> };
  let page: Page = { events: [] };
  for (const end = Date.now() + 5_000; page.events.length === 0 && Date.now() < end; await pause(50)) {
    const res = await fetch(`${herald.url}/streams/deadletter-poison`);
    if (res.status === 200) page = (await res.json()) as Page;
    else await res.body?.cancel(); // 404 until the first dead letter creates the stream
  }
  await consumer.stop();
  assert.equal(page.events.length, 1, "one dead letter stored");
  const letter = page.events[0]!.event;
  assert.equal(letter["type"], "herald.deadletter");
  assert.equal(letter["subject"], pill.id);
  const data = letter["data"] as { reason: string; lastError: string; event: { id: string } };
  assert.equal(data.reason, "non-retryable");
  assert.match(data.lastError, /cannot parse the order/);
  assert.equal(data.event.id, pill.id);
  const stats = (await (await fetch(`${herald.url}/subscriptions/poison/stats`)).json()) as { lag: number };
  assert.equal(stats.lag, 0);
});

test("push to a Receiver: retryable failures are retried by the broker, non-retryable ones dead-lettered at once", async () => {
  const attempts = new Map<string, number>();
  const receiver = new Receiver({
    handler: new Router({ retry: false }).on("push.job", (e) => {
      const n = (attempts.get(e.id) ?? 0) + 1;
      attempts.set(e.id, n);
      const kind = (e.data as { kind: string }).kind;
      if (kind === "poison") throw new NonRetryableError("malformed order");
      if (kind === "flaky" && n < 3) throw new Error("database busy");
    }),
  });
  const { url } = await receiver.start();
  try {
    await client.createSubscription({
      id: "push-jobs",
      types: ["push.job"],
      sink: url,
      config: { backoff: { baseMs: 10, capMs: 20 }, maxDeliveries: 5 },
    });
    const flaky = ev("push.job", { kind: "flaky" });
    const poison = ev("push.job", { kind: "poison" });
    assert.ok((await client.sendBatch([flaky, poison])).ok);
    type Letters = { deadLetters: Array<{ reason: string; attempts: number; event: { id: string } }> };
    let letters: Letters = { deadLetters: [] };
    await until(() => attempts.get(flaky.id) === 3, 5_000, "flaky job retried to success");
    for (
      const end = Date.now() + 5_000;
      letters.deadLetters.length === 0 && Date.now() < end;
      await pause(50)
    ) {
      letters = (await (await fetch(`${herald.url}/subscriptions/push-jobs/dead-letters`)).json()) as Letters;
    }
    assert.equal(attempts.get(poison.id), 1, "a 4xx answer is not retried");
    assert.equal(letters.deadLetters.length, 1);
    assert.equal(letters.deadLetters[0]!.event.id, poison.id);
    assert.equal(letters.deadLetters[0]!.reason, "rejected");
  } finally {
    await client.deleteSubscription("push-jobs");
    await receiver.stop();
  }
});
