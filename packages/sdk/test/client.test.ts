import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { CloudEvent, CloudEventValidationError } from "@herald/cloudevents";
import {
  defineEvent,
  EventDataValidationError,
  HeraldApiError,
  HeraldClient,
  TransportError,
} from "@herald/sdk";
import { Type } from "@sinclair/typebox";
import { ackBody, FakeBroker } from "./support/fake-broker.js";
import { exporter, spanNamed } from "./support/otel.js";

let broker: FakeBroker;
let url: string;
before(async () => {
  broker = new FakeBroker();
  url = await broker.start();
});
after(() => broker.close());
beforeEach(() => {
  broker.requests.length = 0;
  broker.otherwise((req) => ({ status: 200, body: ackBody(req, 41) }));
  exporter.reset();
});

const fast = { attempts: 4, baseMs: 1, capMs: 5 };
const order = () => new CloudEvent({ source: "/shop", type: "order.placed", data: { total: 3 } });

test("ack: a 2xx answer gives the durable position, stream and version", async () => {
  const client = new HeraldClient({ url, retry: fast });
  const e = order();
  const result = await client.send(e);
  assert.equal(result.kind, "ack");
  assert.ok(result.ok);
  assert.equal(result.id, e.id);
  assert.equal(result.position, 41);
  assert.equal(result.attempts, 1);
  const req = broker.requests[0]!;
  assert.equal(req.method, "POST");
  assert.equal(req.url, "/events");
  assert.match(String(req.headers["content-type"]), /^application\/cloudevents\+json/);
  assert.equal(JSON.parse(req.body).id, e.id);
  await client.close();
});

test("nack: a 4xx refusal carries status and problem details and is not retried", async () => {
  broker.script({
    status: 422,
    body: {
      type: "about:blank",
      title: "Invalid CloudEvent",
      status: 422,
      errors: [{ attribute: "source", reason: "x" }],
    },
  });
  const client = new HeraldClient({ url, retry: fast });
  const result = await client.send(order());
  assert.equal(result.kind, "nack");
  assert.ok(!result.ok && result.kind === "nack");
  assert.equal(result.status, 422);
  assert.equal(result.problem.title, "Invalid CloudEvent");
  assert.deepEqual(result.problem.errors, [{ attribute: "source", reason: "x" }]);
  assert.equal(broker.requests.length, 1);
  await client.close();
});

test("503/429 answers are retried (Retry-After honoured) and then acked", async () => {
  broker.script({ status: 503, headers: { "retry-after": "0" } }, { status: 429 });
  const client = new HeraldClient({ url, retry: fast });
  const result = await client.send(order());
  assert.equal(result.kind, "ack");
  assert.equal(result.attempts, 3);
  assert.equal(broker.requests.length, 3);
  // Every attempt sent the same event: the broker's source+id dedupe makes the retry safe.
  assert.equal(new Set(broker.requests.map((r) => JSON.parse(r.body).id)).size, 1);
  await client.close();
});

test("retryable statuses that never clear end as nack with the last status", async () => {
  broker.otherwise(() => ({ status: 503, body: { title: "busy" } }));
  const client = new HeraldClient({ url, retry: fast });
  const result = await client.send(order());
  assert.ok(result.kind === "nack");
  assert.equal(result.status, 503);
  assert.equal(result.attempts, 4);
  await client.close();
});

test("undelivered: a dropped connection is retried, then the send succeeds", async () => {
  broker.script("destroy", "destroy");
  const client = new HeraldClient({ url, retry: fast });
  const result = await client.send(order());
  assert.equal(result.kind, "ack");
  assert.equal(result.attempts, 3);
  await client.close();
});

test("undelivered: nothing listening, or no answer within the timeout", async () => {
  const dead = new HeraldClient({ url: "http://127.0.0.1:9", retry: { attempts: 2, baseMs: 1, capMs: 1 } });
  const refused = await dead.send(order());
  assert.ok(refused.kind === "undelivered");
  assert.equal(refused.attempts, 2);
  assert.ok(refused.error instanceof TransportError);
  assert.equal(refused.error.code, "ECONNREFUSED");
  await dead.close();

  broker.otherwise(() => "hang");
  const slow = new HeraldClient({ url, timeoutMs: 50, retry: false });
  const timedOut = await slow.send(order());
  assert.ok(timedOut.kind === "undelivered");
  assert.equal((timedOut.error as TransportError).code, "TIMEOUT");
  assert.equal(timedOut.attempts, 1);
  await slow.close();
});

test("keep-alive: many sends reuse one pooled connection", async () => {
  const client = new HeraldClient({ url });
  const before = broker.connections;
  for (let i = 0; i < 20; i++) assert.equal((await client.send(order())).kind, "ack");
  assert.equal(broker.connections - before, 1);
  await client.close();
});

test("sendBatch posts one atomic batch and returns one result per event", async () => {
  const client = new HeraldClient({ url });
  const events = [order(), order(), order()];
  const result = await client.sendBatch(events);
  assert.ok(result.ok);
  assert.deepEqual(
    result.results.map((r) => [r.id, r.position]),
    events.map((e, i) => [e.id, 41 + i]),
  );
  assert.equal(broker.requests.length, 1);
  assert.equal(broker.requests[0]!.headers["content-type"], "application/cloudevents-batch+json");
  await client.close();
});

test("appending to a stream states the expected version; a conflict is a nack", async () => {
  broker.script({ status: 409, body: { title: "Version conflict", status: 409, actualVersion: 3 } });
  const client = new HeraldClient({ url, retry: fast });
  const result = await client.send(order(), { stream: "order-7", expectedVersion: 2 });
  assert.ok(result.kind === "nack");
  assert.equal(result.problem["actualVersion"], 3);
  assert.equal(broker.requests[0]!.url, "/streams/order-7");
  assert.equal(broker.requests[0]!.headers["herald-expected-version"], "2");
  await client.close();
});

test("typed definitions are checked before anything is sent", async () => {
  const Paid = defineEvent({
    type: "payment.received",
    source: "/pay",
    schema: Type.Object({ cents: Type.Integer() }),
  });
  const client = new HeraldClient({ url, events: [Paid] });
  const forged = new CloudEvent({ source: "/pay", type: "payment.received", data: { cents: 1.5 } });
  await assert.rejects(client.send(forged), EventDataValidationError);
  await assert.rejects(
    client.sendBatch([Paid.create({ data: { cents: 1 } }), forged]),
    EventDataValidationError,
  );
  assert.equal(broker.requests.length, 0);
  assert.equal((await client.send(Paid.create({ data: { cents: 150 } }))).kind, "ack");
  await client.close();
});

test("a send is a PRODUCER span and the event carries its traceparent", async () => {
  const client = new HeraldClient({ url });
  await client.send(order());
  const span = spanNamed("herald send order.placed");
  const sent = JSON.parse(broker.requests[0]!.body);
  assert.equal(sent.traceparent, `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
  assert.equal(span.attributes["herald.send.outcome"], "ack");
  await client.close();
});

test("an API key is sent as a bearer token", async () => {
  const client = new HeraldClient({ url, apiKey: "k-123" });
  await client.send(order());
  assert.equal(broker.requests[0]!.headers.authorization, "Bearer k-123");
  await client.close();
});

test("events can be given as attributes; invalid ones are refused before sending", async () => {
  const client = new HeraldClient({ url });
  const result = await client.send({ source: "/shop", type: "order.placed", data: { total: 1 } });
  assert.equal(result.kind, "ack");
  assert.equal(JSON.parse(broker.requests[0]!.body).type, "order.placed");
  await assert.rejects(client.send({ source: "", type: "order.placed" }), CloudEventValidationError);
  assert.equal(broker.requests.length, 1);
  await client.close();
});

test("a 2xx whose body cannot be read is still an ack (durable), with position -1", async () => {
  broker.script({ status: 200, body: "not the results shape" });
  const client = new HeraldClient({ url });
  const result = await client.send(order());
  assert.ok(result.ok);
  assert.equal(result.position, -1);
  await client.close();
});

test("error answers: Herald's problem keeps its code (or derives it from type); others become a ForeignProblem", async () => {
  const client = new HeraldClient({ url, retry: false });
  broker.script(
    {
      status: 404,
      body: { type: "https://herald.dev/problems/subscription-not-found", title: "Not Found", status: 404 },
    },
    { status: 502, body: "upstream down" },
    { status: 409, body: { title: "Conflict", status: 409, code: "not-a-catalog-code" } },
  );
  await assert.rejects(client.subscriptionStats("x"), (error: unknown) => {
    assert.ok(error instanceof HeraldApiError);
    assert.equal(error.code, "subscription-not-found");
    assert.equal(error.problem.code, "subscription-not-found");
    return true;
  });
  await assert.rejects(client.listSubscriptions(), (error: unknown) => {
    assert.ok(error instanceof HeraldApiError);
    assert.equal(error.status, 502);
    assert.equal(error.code, undefined);
    assert.equal(error.problem.title, "Bad Gateway");
    assert.match(String(error.problem.detail), /upstream down/);
    return true;
  });
  const nack = await client.send(order());
  assert.ok(nack.kind === "nack");
  assert.equal(nack.problem.code, undefined, "a code outside the catalog is not passed off as one");
  assert.equal(nack.problem.title, "Conflict");
  await client.close();
});

test("a single event goes as exactly application/cloudevents+json; validate: false sends objects verbatim", async () => {
  const client = new HeraldClient({ url });
  const raw = { specversion: "1.0", id: "r1", source: "/raw", type: "t", custom: "kept" } as const;
  assert.equal((await client.send(raw, { validate: false })).kind, "ack");
  assert.equal(broker.requests[0]!.headers["content-type"], "application/cloudevents+json");
  assert.deepEqual(JSON.parse(broker.requests[0]!.body), raw);
  // Invalid on purpose: without validation it is the server's to refuse.
  const invalid = { specversion: "1.0", id: "r2", source: "", type: "t" } as const;
  assert.equal((await client.send(invalid, { validate: false })).kind, "ack");
  await assert.rejects(client.send(invalid), CloudEventValidationError);
  assert.equal(broker.requests.length, 2);
  await client.close();
});
