// Scheduled delivery over real HTTP: an event with a future `deliverat` is answered as scheduled,
// reaches push and pull consumers not before its time and after the events its stream had by then;
// GET/DELETE /scheduled list and cancel; every refusal has its catalog code; a re-send is a duplicate.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { AppendResponse, ListScheduledResponse } from "@herald/protocol";
import type { HeraldServer } from "@herald/server";
import { createSubscription, type PulledMessage, pull } from "./support/consumer.js";
import { api, waitFor } from "./support/harness.js";
import { type Sink, startSink } from "./support/sink.js";
import { batch, post, start, structured } from "./server-harness.js";

let n = 0;
const event = (init: Record<string, unknown> = {}) => ({
  id: `sched-${process.pid}-${++n}`,
  source: "/sched",
  type: "sched.thing",
  ...init,
});
const at = (ms: number) => new Date(Date.now() + ms).toISOString();

async function publish(url: string, body: Record<string, unknown>, path = "/events", headers = {}) {
  const [text, type] = structured(body);
  return post<AppendResponse & { code?: string }>(`${url}${path}`, text, { ...type, ...headers });
}

describe("scheduled delivery", () => {
  let server: HeraldServer;
  let sink: Sink;
  before(async () => {
    server = await start();
    sink = await startSink();
  });
  after(async () => {
    await server.close();
    await sink.close();
  });

  it("delivers to push and pull not before deliverat, after the events its stream had by then", async () => {
    await createSubscription(server.url, { id: "sched-pull", types: ["sched.order"] });
    await createSubscription(server.url, { id: "sched-push", types: ["sched.order"], sink: sink.url });
    const deliverAt = at(1500);
    const delayed = event({ type: "sched.order", partitionkey: "order-7", deliverat: deliverAt });
    const answer = await publish(server.url, delayed);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.results, [
      {
        id: delayed.id,
        source: "/sched",
        position: 0,
        stream: "order-7",
        version: -1,
        duplicate: false,
        scheduled: true,
        deliverAt: new Date(deliverAt).toISOString(),
      },
    ]);
    const now1 = event({ type: "sched.order", partitionkey: "order-7" });
    const now2 = event({ type: "sched.order", partitionkey: "order-7" });
    assert.equal((await publish(server.url, now1)).body.results[0]!.position, 1);
    assert.equal((await publish(server.url, now2)).body.results[0]!.position, 2);
    // Pull: the immediate ones now, then the scheduled one, never before its time.
    const seen: { id: string; position: number; at: number }[] = [];
    await waitFor(
      async () => {
        const messages: PulledMessage[] = await pull(server.url, "sched-pull", 10, 1000);
        const received = Date.now();
        for (const m of messages) seen.push({ id: m.event.id as string, position: m.position, at: received });
        if (messages.length > 0)
          await api(server.url, "POST", "/subscriptions/sched-pull/ack", {
            ackIds: messages.map((m) => m.ackId),
          });
        return seen.length >= 3 ? true : undefined;
      },
      15_000,
      "three pulled events",
    );
    assert.deepEqual(
      seen.map((s) => [s.id, s.position]),
      [
        [now1.id, 1],
        [now2.id, 2],
        [delayed.id, 3],
      ],
    );
    const due = Date.parse(deliverAt);
    assert.ok(seen[2]!.at >= due, `pulled ${due - seen[2]!.at} ms before its time`);
    // Push: the same order, the scheduled one not before its time.
    await waitFor(() => (sink.received.length >= 3 ? true : undefined), 15_000, "three pushes");
    assert.deepEqual(
      sink.received.map((r) => r.headers["ce-id"]),
      [now1.id, now2.id, delayed.id],
    );
    assert.ok(sink.received[2]!.at >= due, "pushed before its time");
    // In the log: its stream's next version, once.
    const stream = await api(server.url, "GET", "/streams/order-7");
    const events = (
      stream.body as { events: { version: number; event: { id: string; deliverat: string } }[] }
    ).events;
    assert.deepEqual(
      events.map((e) => [e.event.id, e.version]),
      [
        [now1.id, 0],
        [now2.id, 1],
        [delayed.id, 2],
      ],
    );
    assert.equal(events[2]!.event.deliverat, deliverAt, "the event keeps its deliverat attribute");
  });

  it("lists pending events in pages and cancels them: 204, then 404; 409 once released", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const body = event({ deliverat: at(60_000 + i) });
      ids.push(body.id);
      assert.equal((await publish(server.url, body)).body.results[0]!.scheduled, true);
    }
    const first = await api(server.url, "GET", "/scheduled?limit=2");
    assert.equal(first.status, 200);
    const page1 = first.body as ListScheduledResponse;
    assert.deepEqual(
      page1.scheduled.map((e) => [e.id, e.source, e.stream, e.event.id]),
      ids.slice(0, 2).map((id) => [id, "/sched", "/sched", id]),
    );
    const page2 = (await api(server.url, "GET", `/scheduled?after=${page1.next}`))
      .body as ListScheduledResponse;
    assert.deepEqual(
      page2.scheduled.map((e) => e.id),
      [ids[2]],
    );
    const cancel = (id: string) => api(server.url, "DELETE", `/scheduled?source=%2Fsched&id=${id}`);
    const cancelled = await cancel(ids[1]!);
    assert.equal(cancelled.status, 204);
    const again = await cancel(ids[1]!);
    assert.equal(again.status, 404);
    assert.equal((again.body as { code: string }).code, "scheduled-not-found");
    const listed = (await api(server.url, "GET", "/scheduled")).body as ListScheduledResponse;
    assert.ok(!listed.scheduled.some((e) => e.id === ids[1]));
    // Released (here: appended now, deliverat in the past) cannot be cancelled.
    const past = event({ deliverat: at(-1000) });
    const appended = await publish(server.url, past);
    assert.equal(appended.body.results[0]!.scheduled, undefined);
    assert.ok(appended.body.results[0]!.position > 0);
    const late = await cancel(past.id);
    assert.equal(late.status, 409);
    assert.equal((late.body as { code: string }).code, "scheduled-already-released");
    const noId = await api(server.url, "DELETE", "/scheduled?source=%2Fsched");
    assert.equal(noId.status, 400);
    assert.equal((noId.body as { code: string }).code, "query-invalid");
  });

  it("answers a re-sent scheduled event as a duplicate, and refuses what it cannot schedule", async () => {
    const deliverat = at(60_000);
    const body = event({ deliverat });
    await publish(server.url, body);
    const resent = await publish(server.url, { ...body, deliverat: at(90_000) });
    assert.equal(resent.status, 200);
    assert.deepEqual(
      [
        resent.body.results[0]!.duplicate,
        resent.body.results[0]!.scheduled,
        resent.body.results[0]!.deliverAt,
      ],
      [true, true, new Date(deliverat).toISOString()],
    );
    const [mixed, type] = batch([event({ deliverat: at(60_000) }), event()]);
    const refused = await post<{ code: string }>(`${server.url}/events`, mixed, type);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, "scheduled-batch-mixed");
    const versioned = await publish(server.url, event({ deliverat: at(60_000) }), "/streams/versioned", {
      "herald-expected-version": "no-stream",
    });
    assert.equal(versioned.status, 400);
    assert.equal(versioned.body.code, "scheduled-expected-version");
    const named = await publish(server.url, event({ deliverat: at(60_000) }), "/streams/named-sched");
    assert.deepEqual(
      [named.body.results[0]!.stream, named.body.results[0]!.scheduled],
      ["named-sched", true],
    );
    const invalid = await publish(server.url, event({ deliverat: "tomorrow" }));
    assert.equal(invalid.status, 422);
    assert.equal(invalid.body.code, "event-invalid");
  });
});
