import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { CloudEvent, decodeHttp, encodeHttp, encodeHttpBatch } from "@herald/cloudevents";
import { SpanKind } from "@opentelemetry/api";
import {
  defineEvent,
  type Handler,
  HeraldClient,
  NonRetryableError,
  Receiver,
  type ReceiverOptions,
  RetryableError,
  Router,
  signWebhook,
} from "@herald/sdk";
import { Type } from "@sinclair/typebox";
import { CloudEvent as OfficialEvent, HTTP } from "cloudevents";
import { deferred } from "./support/events.js";
import { ackBody, FakeBroker } from "./support/fake-broker.js";
import { exporter, spans } from "./support/otel.js";

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});
beforeEach(() => exporter.reset());

async function start(handler: Handler | Router, options: Partial<ReceiverOptions> = {}): Promise<string> {
  const receiver = new Receiver({ handler, ...options });
  receivers.push(receiver);
  return (await receiver.start()).url;
}

async function post(url: string, headers: Record<string, string>, body: string | Uint8Array) {
  const res = await fetch(url, { method: "POST", headers, body });
  return { status: res.status, headers: Object.fromEntries(res.headers), text: await res.text() };
}

const sample = () =>
  new CloudEvent({
    source: "/shop",
    type: "order.placed",
    data: { total: 7 },
    datacontenttype: "application/json",
  });

test("accepts binary, structured and batched requests and answers 204", async () => {
  const seen: string[] = [];
  const url = await start((e) => void seen.push(`${e.id}:${JSON.stringify(e.data)}`));
  const [a, b, c, d] = [sample(), sample(), sample(), sample()];
  for (const msg of [encodeHttp(a, "binary"), encodeHttp(b, "structured"), encodeHttpBatch([c, d])]) {
    const res = await post(url, msg.headers, msg.body);
    assert.equal(res.status, 204);
  }
  assert.deepEqual(
    seen,
    [a, b, c, d].map((e) => `${e.id}:{"total":7}`),
  );
});

test("accepts what the official cloudevents SDK emits, in both modes", async () => {
  const seen: CloudEvent[] = [];
  const url = await start((e) => void seen.push(e));
  const official = new OfficialEvent({
    source: "/legacy",
    type: "legacy.thing",
    data: { ok: true },
    myext: "v",
  });
  for (const message of [HTTP.binary(official), HTTP.structured(official)]) {
    const res = await post(url, message.headers as Record<string, string>, message.body as string);
    assert.equal(res.status, 204);
  }
  assert.equal(seen.length, 2);
  for (const e of seen) {
    assert.equal(e.id, official.id);
    assert.deepEqual(e.data, { ok: true });
    assert.equal(e["myext"], "v");
  }
});

test("answers a returned reply in binary mode with causationid and correlationid", async () => {
  const url = await start((e) => ({ source: "/pricing", type: "price.quoted", data: { for: e.id } }));
  const request = sample();
  const msg = encodeHttp(request, "binary");
  const res = await fetch(url, { method: "POST", headers: msg.headers, body: msg.body });
  assert.equal(res.status, 200);
  const [reply] = decodeHttp({ headers: Object.fromEntries(res.headers), body: await res.text() });
  assert.equal(reply!.type, "price.quoted");
  assert.deepEqual(reply!.data, { for: request.id });
  assert.equal(reply!["causationid"], request.id);
  assert.equal(reply!["correlationid"], request.id);
});

test("maps handler outcomes to retryable and non-retryable answers", async () => {
  const Typed = defineEvent({
    type: "typed.thing",
    source: "/t",
    schema: Type.Object({ n: Type.Integer() }),
  });
  const router = new Router({ defaults: false })
    .on("fatal", () => {
      throw new NonRetryableError("unknown customer");
    })
    .on("later", () => {
      throw new RetryableError("rate limited", { delayMs: 2_500 });
    })
    .on("crash", () => {
      throw new TypeError("bug");
    })
    .on(Typed, () => {});
  const url = await start(router);
  const send = (type: string, data: unknown = {}) => {
    const m = encodeHttp(new CloudEvent({ source: "/s", type, data }), "structured");
    return post(url, m.headers, m.body);
  };
  const fatal = await send("fatal");
  assert.equal(fatal.status, 422);
  assert.equal(fatal.headers["content-type"], "application/problem+json");
  assert.match(JSON.parse(fatal.text).detail, /unknown customer/);
  const later = await send("later");
  assert.equal(later.status, 503);
  assert.equal(later.headers["retry-after"], "3");
  assert.equal((await send("crash")).status, 500);
  const invalid = await send("typed.thing", { n: "one" });
  assert.equal(invalid.status, 422);
  assert.deepEqual(JSON.parse(invalid.text).errors, [{ path: "/n", message: "must be integer" }]);
  assert.equal((await send("typed.thing", { n: 1 })).status, 204);
});

test("refuses bad input with the status the broker treats as final", async () => {
  const url = await start(() => {});
  const malformed = await post(url, { "content-type": "application/cloudevents+json" }, "{not json");
  assert.equal(malformed.status, 400);
  const media = await post(url, { "content-type": "text/plain" }, "hello");
  assert.equal(media.status, 415);
  const invalid = await post(
    url,
    { "content-type": "application/cloudevents+json" },
    JSON.stringify({ specversion: "1.0", id: "1", source: "/s", type: "" }),
  );
  assert.equal(invalid.status, 422);
  assert.equal(JSON.parse(invalid.text).errors[0].attribute, "type");
  const big = encodeHttp(new CloudEvent({ source: "/s", type: "t", data: "x".repeat(2_000) }), "structured");
  const small = new Receiver({ handler: () => {}, maxBodyBytes: 1_000 });
  receivers.push(small);
  assert.equal((await post((await small.start()).url, big.headers, big.body)).status, 413);
  assert.equal((await fetch(url)).status, 405);
});

test("verifies Standard Webhooks signatures when a secret is set", async () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  let handled = 0;
  const url = await start(() => void handled++, { secret: ["whsec_b2xk", secret] });
  const msg = encodeHttp(sample(), "binary");
  const signed = (ts: number, body = msg.body) => ({
    ...msg.headers,
    "webhook-id": "msg_1",
    "webhook-timestamp": String(ts),
    "webhook-signature": signWebhook(secret, "msg_1", ts, body),
  });
  const now = Math.floor(Date.now() / 1000);
  assert.equal((await post(url, msg.headers, msg.body)).status, 401, "unsigned");
  assert.equal((await post(url, signed(now - 3_600), msg.body)).status, 401, "replayed an hour later");
  assert.equal((await post(url, signed(now), "tampered")).status, 401, "body changed after signing");
  assert.equal((await post(url, signed(now), msg.body)).status, 204);
  assert.equal(handled, 1);
});

test("publishes emitted events through the client before answering 2xx", async () => {
  const broker = new FakeBroker().otherwise((req) => ({ status: 200, body: ackBody(req) }));
  const client = new HeraldClient({ url: await broker.start() });
  const url = await start((_e, ctx) => void ctx.emit({ source: "/stock", type: "stock.reserved" }), {
    client,
  });
  const placed = sample();
  const msg = encodeHttp(placed, "binary");
  assert.equal((await post(url, msg.headers, msg.body)).status, 204);
  assert.equal(broker.requests.length, 1);
  const [published] = JSON.parse(broker.requests[0]!.body) as Array<Record<string, unknown>>;
  assert.equal(published!["type"], "stock.reserved");
  await client.close();
  await broker.close();

  const unpublishable = await start((_e, ctx) => void ctx.emit({ source: "/stock", type: "stock.reserved" }));
  assert.equal((await post(unpublishable, msg.headers, msg.body)).status, 500, "no client: not acked");
});

test("stop() drains: a running handler finishes and its answer is delivered", async () => {
  const entered = deferred();
  const release = deferred();
  const receiver = new Receiver({
    handler: async () => {
      entered.resolve();
      await release.promise;
    },
  });
  const { url } = await receiver.start();
  const msg = encodeHttp(sample(), "binary");
  const inFlight = post(url, msg.headers, msg.body);
  await entered.promise;
  const stopping = receiver.stop();
  setTimeout(() => release.resolve(), 50);
  assert.equal((await inFlight).status, 204);
  await stopping;
  await assert.rejects(fetch(url, { method: "POST", headers: msg.headers, body: msg.body }));
});

test("a delivery span continues the producer's trace; the handling span is its child", async () => {
  const url = await start(new Router({ retry: false }).on("order.placed", () => {}));
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const e = new CloudEvent({
    source: "/shop",
    type: "order.placed",
    traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
  });
  const msg = encodeHttp(e, "binary");
  assert.equal((await post(url, msg.headers, msg.body)).status, 204);
  const deliver = spans().find((s) => s.name === "herald deliver order.placed")!;
  const handle = spans().find((s) => s.name === "herald handle order.placed")!;
  assert.equal(deliver.kind, SpanKind.CONSUMER);
  assert.equal(deliver.spanContext().traceId, traceId);
  assert.equal(deliver.parentSpanContext?.spanId, "00f067aa0ba902b7");
  assert.equal(handle.parentSpanContext?.spanId, deliver.spanContext().spanId);
});
