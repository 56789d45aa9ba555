// Push delivery to local webhook sinks over real HTTP: binary/structured modes (checked with the
// official `cloudevents` SDK), Standard Webhooks signatures, retries, Retry-After, dead letters,
// redrive, replies, fan-out and per-stream ordering under retries.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { HTTP } from "cloudevents";
import { createSubscription } from "./support/consumer.js";
import { api, type Harness, makeEvent, sleep, startHarness, waitFor } from "./support/harness.js";
import { type ReceivedRequest, type Sink, startSink } from "./support/sink.js";

function status(code: number, headers: Record<string, string> = {}) {
  return (_req: ReceivedRequest, res: import("node:http").ServerResponse) => {
    res.writeHead(code, headers);
    res.end();
  };
}

async function deadLetters(h: Harness, id: string): Promise<Array<Record<string, unknown>>> {
  const res = await api(h.url, "GET", `/subscriptions/${id}/dead-letters`);
  assert.equal(res.status, 200);
  return (res.body as { deadLetters: Array<Record<string, unknown>> }).deadLetters;
}

describe("push delivery", () => {
  let h: Harness;
  const sinks: Sink[] = [];
  const sink = async (...args: Parameters<typeof startSink>) => {
    const s = await startSink(...args);
    sinks.push(s);
    return s;
  };
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close({ closeLog: true });
    await Promise.all(sinks.map((s) => s.close()));
  });

  it("POSTs binary mode that the official cloudevents SDK decodes", async () => {
    const target = await sink();
    await createSubscription(h.url, { id: "bin", sink: target.url, types: ["bin.thing"] });
    const sent = makeEvent({ type: "bin.thing", subject: "order-7", data: { total: 42 }, region: "eu" });
    await h.log.append([sent]);
    const [request] = await waitFor(() => (target.received.length > 0 ? target.received : undefined));
    assert.equal(request!.method, "POST");
    assert.equal(request!.headers["ce-id"], sent.id);
    assert.match(String(request!.headers["content-type"]), /^application\/json/);
    const received = HTTP.toEvent({ headers: request!.headers, body: request!.body.toString() });
    const event = Array.isArray(received) ? received[0]! : received;
    assert.equal(event.id, sent.id);
    assert.equal(event.type, "bin.thing");
    assert.equal(event.source, "/test");
    assert.equal(event.subject, "order-7");
    assert.equal(event.region, "eu");
    assert.deepEqual(event.data, { total: 42 });
    await waitFor(async () => {
      const stats = (await api(h.url, "GET", "/subscriptions/bin/stats")).body as Record<string, number>;
      return stats.delivered === 1 && stats.lag === 0 ? true : undefined;
    });
  });

  it("uses structured mode on request", async () => {
    const target = await sink();
    await createSubscription(h.url, {
      id: "struct",
      sink: target.url,
      types: ["struct.thing"],
      config: { contentMode: "structured" },
    });
    const sent = makeEvent({ type: "struct.thing", data: { a: 1 } });
    await h.log.append([sent]);
    const [request] = await waitFor(() => (target.received.length > 0 ? target.received : undefined));
    assert.match(String(request!.headers["content-type"]), /^application\/cloudevents\+json/);
    const body = JSON.parse(request!.body.toString());
    assert.equal(body.id, sent.id);
    assert.deepEqual(body.data, { a: 1 });
    const received = HTTP.toEvent({ headers: request!.headers, body: request!.body.toString() });
    assert.equal((Array.isArray(received) ? received[0]! : received).id, sent.id);
  });

  it("signs each attempt the Standard Webhooks way and retries 5xx with backoff", async () => {
    const secret = `whsec_${Buffer.from("test-signing-key-0123456789").toString("base64")}`;
    const target = await sink((req, res, i) => status(i < 2 ? 500 : 200)(req, res));
    await createSubscription(h.url, {
      id: "signed",
      sink: target.url,
      types: ["signed.thing"],
      config: { secret, backoff: { baseMs: 20, capMs: 40 } },
    });
    await h.log.append([makeEvent({ type: "signed.thing" })]);
    await waitFor(() => (target.received.length >= 3 ? true : undefined));
    await sleep(100);
    assert.equal(target.received.length, 3, "no attempt after the 2xx");
    const key = Buffer.from("test-signing-key-0123456789");
    for (const request of target.received) {
      const id = String(request.headers["webhook-id"]);
      const timestamp = String(request.headers["webhook-timestamp"]);
      assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 30);
      const expected = createHmac("sha256", key)
        .update(`${id}.${timestamp}.`)
        .update(request.body)
        .digest("base64");
      assert.equal(request.headers["webhook-signature"], `v1,${expected}`);
    }
    assert.equal(new Set(target.received.map((r) => r.headers["webhook-id"])).size, 1);
    const stats = (await api(h.url, "GET", "/subscriptions/signed/stats")).body as Record<string, number>;
    assert.equal(stats.retried, 2);
    assert.equal(stats.delivered, 1);
  });

  it("honours Retry-After on 429", async () => {
    const target = await sink((req, res, i) => status(i === 0 ? 429 : 204, { "retry-after": "1" })(req, res));
    await createSubscription(h.url, {
      id: "ra",
      sink: target.url,
      types: ["ra.thing"],
      config: { backoff: { baseMs: 0, capMs: 5000 } },
    });
    await h.log.append([makeEvent({ type: "ra.thing" })]);
    await waitFor(() => (target.received.length >= 2 ? true : undefined), 5000);
    const gap = target.received[1]!.at - target.received[0]!.at;
    assert.ok(gap >= 950, `retried after ${gap} ms`);
  });

  it("dead-letters a non-retryable 4xx at once with the status", async () => {
    const target = await sink(status(422));
    await createSubscription(h.url, { id: "rej", sink: target.url, types: ["rej.thing"] });
    const sent = makeEvent({ type: "rej.thing" });
    await h.log.append([sent]);
    const [letter] = await waitFor(async () => {
      const list = await deadLetters(h, "rej");
      return list.length > 0 ? list : undefined;
    });
    assert.equal(letter!.reason, "rejected");
    assert.equal(letter!.attempts, 1);
    assert.equal(letter!.lastStatus, 422);
    assert.equal((letter!.event as Record<string, unknown>).id, sent.id);
    assert.equal(target.received.length, 1);
  });

  it("retries timeouts, dead-letters after maxDeliveries, and redrives (dryRun first)", async () => {
    let healthy = false;
    const target = await sink(async (req, res) => {
      if (healthy) return status(200)(req, res);
      await sleep(600); // past timeoutMs
      status(200)(req, res);
    });
    await createSubscription(h.url, {
      id: "rd",
      sink: target.url,
      types: ["rd.thing"],
      config: { timeoutMs: 150, maxDeliveries: 2, backoff: { baseMs: 1, capMs: 5 } },
    });
    const [stored] = await h.log.append([makeEvent({ type: "rd.thing", data: { v: 1 } })]);
    const [letter] = await waitFor(async () => {
      const list = await deadLetters(h, "rd");
      return list.length > 0 ? list : undefined;
    });
    assert.equal(letter!.reason, "max-deliveries");
    assert.equal(letter!.attempts, 2);
    assert.match(String(letter!.lastError), /within 150 ms/);
    assert.equal(letter!.redriven, false);
    const before = (await api(h.url, "GET", "/subscriptions/rd/stats")).body as Record<string, number>;
    assert.ok(before.checkpoint! >= stored!.position, "dead-lettered events are below the checkpoint");

    const dry = await api(h.url, "POST", "/subscriptions/rd/dead-letters/redrive", { dryRun: true });
    assert.deepEqual(dry.body, { count: 1, dryRun: true });
    const none = await api(h.url, "POST", "/subscriptions/rd/dead-letters/redrive", {
      dryRun: true,
      from: stored!.position + 1,
    });
    assert.deepEqual(none.body, { count: 0, dryRun: true });
    const filtered = await api(h.url, "POST", "/subscriptions/rd/dead-letters/redrive", {
      dryRun: true,
      filters: [{ exact: { type: "other" } }],
    });
    assert.deepEqual(filtered.body, { count: 0, dryRun: true });

    healthy = true;
    const attemptsBefore = target.received.length;
    const res = await api(h.url, "POST", "/subscriptions/rd/dead-letters/redrive", {
      filters: [{ exact: { type: "rd.thing" } }],
    });
    assert.deepEqual(res.body, { count: 1, dryRun: false });
    await waitFor(async () => {
      const stats = (await api(h.url, "GET", "/subscriptions/rd/stats")).body as Record<string, number>;
      return stats.delivered === 1 && stats.redrivePending === 0 ? stats : undefined;
    });
    // One more request (more only if a slow machine timed the healthy answer out).
    assert.ok(target.received.length >= attemptsBefore + 1);
    assert.equal(JSON.parse(target.received.at(-1)!.body.toString()).v, 1);
    const afterStats = (await api(h.url, "GET", "/subscriptions/rd/stats")).body as Record<string, number>;
    assert.equal(afterStats.checkpoint, before.checkpoint, "redrive moved the live checkpoint");
    assert.equal((await deadLetters(h, "rd"))[0]!.redriven, true);
    // Already redriven: a second redrive picks nothing unless asked to.
    const again = await api(h.url, "POST", "/subscriptions/rd/dead-letters/redrive", { dryRun: true });
    assert.deepEqual(again.body, { count: 0, dryRun: true });
  });

  it("ingests a CloudEvent reply with causationid set to the delivered event", async () => {
    const target = await sink((_req, res, i) => {
      res.writeHead(200, {
        "ce-specversion": "1.0",
        "ce-id": `reply-${i}`,
        "ce-source": "/payments",
        "ce-type": "payment.done",
        "content-type": "application/json",
      });
      res.end(JSON.stringify({ ok: true }));
    });
    await createSubscription(h.url, { id: "reply", sink: target.url, types: ["pay.request"] });
    const request = makeEvent({ type: "pay.request", correlationid: "corr-9" });
    await h.log.append([request]);
    const reply = await waitFor(async () => {
      const page = await h.log.read({ after: 0, limit: 1000 });
      return page.events.find((s) => s.event.type === "payment.done");
    });
    const attributes = reply.event as unknown as Record<string, unknown>;
    assert.equal(attributes.causationid, request.id);
    assert.equal(attributes.correlationid, "corr-9");
    assert.deepEqual(attributes.data, { ok: true });
    // Without a correlationid on the request, the reply is correlated by the request's id.
    const plain = makeEvent({ type: "pay.request" });
    await h.log.append([plain]);
    const second = await waitFor(async () => {
      const page = await h.log.read({ after: reply.position, limit: 1000 });
      return page.events.find((s) => s.event.type === "payment.done");
    });
    assert.equal((second.event as unknown as Record<string, unknown>).correlationid, plain.id);
  });

  it("fans out to three subscriptions, each in log order", async () => {
    const targets = await Promise.all([sink(), sink(), sink()]);
    for (const [i, t] of targets.entries()) {
      await createSubscription(h.url, { id: `fan-${i}`, sink: t.url, types: ["fan.thing"] });
    }
    const sent = Array.from({ length: 5 }, () => makeEvent({ type: "fan.thing", subject: "fan" }));
    await h.log.append(sent);
    for (const t of targets) {
      await waitFor(() => (t.received.length >= 5 ? true : undefined));
      assert.deepEqual(
        t.received.map((r) => r.headers["ce-id"]),
        sent.map((e) => e.id),
      );
    }
  });

  it("keeps per-stream order under retries while other streams proceed", async () => {
    const acked: string[] = [];
    let failedOnce = false;
    let bDelivered: () => void = () => {};
    const allOfB = new Promise<void>((resolve) => {
      bDelivered = resolve;
    });
    const target = await sink(async (req, res) => {
      const id = String(req.headers["ce-id"]);
      if (req.headers["ce-subject"] === "A" && !failedOnce) {
        failedOnce = true;
        // A's first attempt hangs until all of B is delivered (B must not wait for it; if it did,
        // the 5 s cap ends the wait and the order check below fails), then fails.
        await Promise.race([allOfB, sleep(5000)]);
        return status(503)(req, res);
      }
      acked.push(`${req.headers["ce-subject"]}:${id}`);
      if (acked.filter((x) => x.startsWith("B:")).length === 3) bDelivered();
      status(204)(req, res);
    });
    await createSubscription(h.url, {
      id: "order-retry",
      sink: target.url,
      types: ["ord.retry"],
      config: { backoff: { baseMs: 20, capMs: 20 } },
    });
    const a = [1, 2, 3].map(() => makeEvent({ type: "ord.retry", subject: "A" }));
    const b = [1, 2, 3].map(() => makeEvent({ type: "ord.retry", subject: "B" }));
    await h.log.append([a[0]!, b[0]!, a[1]!, b[1]!, a[2]!, b[2]!]);
    await waitFor(() => (acked.length >= 6 ? true : undefined));
    const of = (stream: string) => acked.filter((x) => x.startsWith(`${stream}:`)).map((x) => x.slice(2));
    assert.deepEqual(
      of("A"),
      a.map((e) => e.id),
    );
    assert.deepEqual(
      of("B"),
      b.map((e) => e.id),
    );
    // B did not wait for A's retry.
    assert.ok(acked.indexOf(`B:${b[2]!.id}`) < acked.indexOf(`A:${a[0]!.id}`), acked.join(" "));
    // A's second event was not sent before its first was accepted.
    const aRequests = target.received
      .filter((r) => r.headers["ce-subject"] === "A")
      .map((r) => r.headers["ce-id"]);
    assert.deepEqual(aRequests, [a[0]!.id, a[0]!.id, a[1]!.id, a[2]!.id]);
  });

  it("sends protocolsettings headers, method and sinkcredential", async () => {
    const target = await sink();
    await createSubscription(h.url, {
      id: "creds",
      protocol: "HTTP",
      protocolsettings: { method: "PUT", headers: { "x-team": "orders" } },
      sink: target.url,
      sinkcredential: {
        credentialtype: "ACCESSTOKEN",
        accesstoken: "tok-1",
        accesstokenexpiresutc: "2030-01-01T00:00:00Z",
      },
      types: ["creds.thing"],
    });
    await h.log.append([makeEvent({ type: "creds.thing" })]);
    const [request] = await waitFor(() => (target.received.length > 0 ? target.received : undefined));
    assert.equal(request!.method, "PUT");
    assert.equal(request!.headers["x-team"], "orders");
    assert.equal(request!.headers.authorization, "Bearer tok-1");
  });

  it("keeps at most maxInFlight pushes open at once", async () => {
    let open = 0;
    let peak = 0;
    const target = await sink(async (req, res) => {
      open++;
      peak = Math.max(peak, open);
      await sleep(30);
      open--;
      status(204)(req, res);
    });
    await createSubscription(h.url, {
      id: "mif-push",
      sink: target.url,
      types: ["mifp.thing"],
      config: { ordering: "none", maxInFlight: 3 },
    });
    await h.log.append(Array.from({ length: 12 }, () => makeEvent({ type: "mifp.thing", subject: "one" })));
    await waitFor(() => (target.received.length >= 12 ? true : undefined));
    assert.equal(peak, 3);
  });

  it("refuses sinks at link-local and cloud metadata addresses", async () => {
    for (const sinkUrl of ["http://169.254.169.254/latest/meta-data", "http://metadata.google.internal/"]) {
      const res = await api(h.url, "POST", "/subscriptions", { sink: sinkUrl });
      assert.equal(res.status, 400);
      assert.equal((res.body as { errors: Array<{ field: string }> }).errors[0]!.field, "/sink");
    }
  });

  it("refuses pull, SSE and WebSocket on a push subscription", async () => {
    const target = await sink();
    await createSubscription(h.url, { id: "push-only", sink: target.url });
    assert.equal((await api(h.url, "POST", "/subscriptions/push-only/pull", {})).status, 409);
    assert.equal((await api(h.url, "GET", "/subscriptions/push-only/sse")).status, 409);
  });
});

describe("sink policy at delivery time", () => {
  it("resolves names and refuses a sink whose address the policy forbids", async () => {
    const h = await startHarness({ sinkPolicy: { allowPrivateNetworks: false } });
    const target = await startSink();
    try {
      const port = new URL(target.url).port;
      // Refused up front when the URL is an address…
      const direct = await api(h.url, "POST", "/subscriptions", { sink: target.url });
      assert.equal(direct.status, 400);
      // …and at connect time when a name resolves to one.
      await createSubscription(h.url, {
        id: "dns",
        sink: `http://localhost:${port}/hook`,
        types: ["dns.thing"],
      });
      await h.log.append([makeEvent({ type: "dns.thing" })]);
      const [letter] = await waitFor(async () => {
        const list = await deadLetters(h, "dns");
        return list.length > 0 ? list : undefined;
      });
      assert.equal(letter!.reason, "rejected");
      assert.match(String(letter!.lastError), /private or loopback/);
      assert.equal(target.received.length, 0);
    } finally {
      await h.close({ closeLog: true });
      await target.close();
    }
  });
});
