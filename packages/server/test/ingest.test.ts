import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CloudEvent as SdkEvent, emitterFor, httpTransport, Mode } from "cloudevents";
import {
  type Answer,
  batch,
  get,
  type Page,
  type Problem,
  post,
  type ResultEntry,
  structured,
  withServer,
} from "./server-harness.js";

type Results = { results: ResultEntry[] };

describe("POST /events", () => {
  it("ingests binary mode and answers with position, stream, version", async () => {
    await withServer({}, async (server) => {
      const answer = await post<Results>(`${server.url}/events`, JSON.stringify({ total: 42 }), {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": "b-1",
        "ce-source": "/orders",
        "ce-type": "order.placed",
        "ce-subject": "order-1",
        "ce-tenant": "acme",
      });
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body.results, [
        { id: "b-1", source: "/orders", position: 1, stream: "order-1", version: 0, duplicate: false },
      ]);
      const page = await get<Page>(`${server.url}/events`);
      assert.equal(page.body.events.length, 1);
      const stored = page.body.events[0]!.event;
      assert.equal(stored.type, "order.placed");
      assert.equal(stored.tenant, "acme");
      assert.deepEqual(stored.data, { total: 42 });
    });
  });

  it("ingests structured mode", async () => {
    await withServer({}, async (server) => {
      const answer = await post<Results>(
        `${server.url}/events`,
        ...structured({ id: "s-1", source: "/s", type: "t.x", data: [1, 2, 3], partitionkey: "p-9" }),
      );
      assert.equal(answer.status, 200);
      assert.equal(answer.body.results[0]!.stream, "p-9", "partitionkey names the stream");
      const page = await get<Page>(`${server.url}/events`);
      assert.deepEqual(page.body.events[0]!.event.data, [1, 2, 3]);
    });
  });

  it("ingests a batch atomically, results in order", async () => {
    await withServer({}, async (server) => {
      const events = [0, 1, 2].map((i) => ({ id: `e-${i}`, source: "/batch", type: "t", subject: "s" }));
      const answer = await post<Results>(`${server.url}/events`, ...batch(events));
      assert.equal(answer.status, 200);
      assert.deepEqual(
        answer.body.results.map((r) => [r.id, r.position, r.version]),
        [
          ["e-0", 1, 0],
          ["e-1", 2, 1],
          ["e-2", 3, 2],
        ],
      );
    });
  });

  it("accepts an empty batch without touching the log", async () => {
    await withServer({}, async (server) => {
      const answer = await post<Results>(`${server.url}/events`, ...batch([]));
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body.results, []);
      assert.equal(await server.log.headPosition(), 0);
    });
  });

  it("accepts events from the official cloudevents emitter in binary and structured mode", async () => {
    await withServer({}, async (server) => {
      const transport = httpTransport(`${server.url}/events`);
      const binary = emitterFor(transport, { mode: Mode.BINARY });
      const structuredEmitter = emitterFor(transport, { mode: Mode.STRUCTURED });
      const a = new SdkEvent({
        id: "sdk-1",
        source: "urn:sdk",
        type: "sdk.binary",
        subject: "sdk",
        datacontenttype: "application/json",
        data: { hello: "binary" },
        myext: "x1",
      });
      const b = new SdkEvent({
        id: "sdk-2",
        source: "urn:sdk",
        type: "sdk.structured",
        subject: "sdk",
        time: "2026-01-02T03:04:05.678Z",
        data: { hello: "structured" },
      });
      const replyA = (await binary(a)) as { body: string };
      const replyB = (await structuredEmitter(b)) as { body: string };
      assert.equal((JSON.parse(replyA.body) as Results).results[0]!.id, "sdk-1");
      assert.equal((JSON.parse(replyB.body) as Results).results[0]!.version, 1);
      const page = await get<Page>(`${server.url}/events`);
      const [first, second] = page.body.events.map((e) => e.event);
      assert.equal(first!.type, "sdk.binary");
      assert.equal(first!.myext, "x1");
      assert.deepEqual(first!.data, { hello: "binary" });
      assert.equal(second!.type, "sdk.structured");
      assert.equal(second!.time, "2026-01-02T03:04:05.678Z");
      assert.deepEqual(second!.data, { hello: "structured" });
    });
  });

  it("acknowledges a duplicate source+id without storing a second copy", async () => {
    await withServer({}, async (server) => {
      const event = { id: "dup-1", source: "/dup", type: "t" };
      const first = await post<Results>(`${server.url}/events`, ...structured(event));
      const again = await post<Results>(`${server.url}/events`, ...structured({ ...event, data: "changed" }));
      assert.equal(again.status, 200);
      assert.deepEqual(again.body.results[0], { ...first.body.results[0], duplicate: true });
      // Same id from another source is a different event.
      const other = await post<Results>(
        `${server.url}/events`,
        ...structured({ ...event, source: "/other" }),
      );
      assert.equal(other.body.results[0]!.duplicate, false);
      assert.equal(await server.log.headPosition(), 2);
    });
  });

  it("dedupes concurrent copies of the same event", async () => {
    await withServer({}, async (server) => {
      const answers = await Promise.all(
        Array.from({ length: 10 }, () =>
          post<Results>(`${server.url}/events`, ...structured({ id: "race", source: "/r", type: "t" })),
        ),
      );
      assert.ok(answers.every((a) => a.status === 200));
      assert.equal(answers.filter((a) => !a.body.results[0]!.duplicate).length, 1);
      assert.equal(await server.log.headPosition(), 1);
    });
  });
});

describe("POST /events refusals leave the log untouched", () => {
  const cases: Array<{
    name: string;
    status: number;
    body: string;
    headers: Record<string, string>;
    field?: string | RegExp;
  }> = [
    {
      name: "malformed JSON (structured)",
      status: 400,
      body: '{"specversion":"1.0",',
      headers: { "content-type": "application/cloudevents+json" },
    },
    {
      name: "batch that is not an array",
      status: 400,
      body: '{"specversion":"1.0","id":"1","source":"/s","type":"t"}',
      headers: { "content-type": "application/cloudevents-batch+json" },
    },
    {
      name: "unsupported media type without ce- headers",
      status: 415,
      body: "hello",
      headers: { "content-type": "text/plain" },
    },
    {
      name: "event without type (structured)",
      status: 422,
      body: JSON.stringify({ specversion: "1.0", id: "1", source: "/s" }),
      headers: { "content-type": "application/cloudevents+json" },
      field: "type",
    },
    {
      name: "binary event with a bad time",
      status: 422,
      body: "{}",
      headers: {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": "1",
        "ce-source": "/s",
        "ce-type": "t",
        "ce-time": "yesterday",
      },
      field: "time",
    },
    {
      name: "batch with one invalid event among valid ones",
      status: 422,
      body: JSON.stringify([
        { specversion: "1.0", id: "ok", source: "/s", type: "t" },
        { specversion: "1.0", id: "bad", source: "/s", type: "" },
      ]),
      headers: { "content-type": "application/cloudevents-batch+json" },
      field: /^\[1\]\.type$/,
    },
    {
      name: "event whose derived stream is a system stream",
      status: 400,
      body: JSON.stringify({
        specversion: "1.0",
        id: "1",
        source: "/s",
        type: "t",
        partitionkey: "$deadletter-x",
      }),
      headers: { "content-type": "application/cloudevents+json" },
      field: "stream",
    },
    {
      name: "Herald-Expected-Version without a stream",
      status: 400,
      body: JSON.stringify({ specversion: "1.0", id: "1", source: "/s", type: "t" }),
      headers: { "content-type": "application/cloudevents+json", "herald-expected-version": "0" },
      field: "Herald-Expected-Version",
    },
  ];

  for (const c of cases) {
    it(`${c.status}: ${c.name}`, async () => {
      await withServer({}, async (server) => {
        const answer: Answer<Problem> = await post<Problem>(`${server.url}/events`, c.body, c.headers);
        assert.equal(answer.status, c.status, JSON.stringify(answer.body));
        assert.equal(answer.headers.get("content-type"), "application/problem+json");
        assert.equal(answer.body.status, c.status);
        assert.equal(typeof answer.body.title, "string");
        assert.ok(answer.body.detail.length > 0);
        if (c.field !== undefined) {
          const fields = (answer.body.errors ?? []).map((e) => e.field);
          assert.ok(
            fields.some((f) => (typeof c.field === "string" ? f === c.field : c.field!.test(f))),
            `errors name ${String(c.field)}: ${JSON.stringify(answer.body.errors)}`,
          );
        }
        assert.equal(await server.log.headPosition(), 0, "log untouched");
      });
    });
  }

  it("422 lists one error per failing attribute", async () => {
    await withServer({}, async (server) => {
      const answer = await post<Problem>(
        `${server.url}/events`,
        JSON.stringify({ specversion: "1.0", id: "", source: "", type: "t", dataschema: "not a uri" }),
        { "content-type": "application/cloudevents+json" },
      );
      assert.equal(answer.status, 422);
      assert.equal(answer.body.code, "event-invalid");
      const fields = new Set((answer.body.errors ?? []).map((e) => e.field));
      for (const attribute of ["id", "source", "dataschema"]) assert.ok(fields.has(attribute), attribute);
    });
  });
});
