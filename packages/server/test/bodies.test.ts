// Request bodies over real HTTP: JSON media types on JSON endpoints, Content-Encoding decoding under
// the size limit (a real compression bomb), the JSON nesting limit and the extension-name limit.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import type { HeraldServer } from "@herald/server";
import fc from "fast-check";
import { jsonDepthExceeds } from "../src/http/body.js";
import { start } from "./server-harness.js";

interface Raw {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly json: Record<string, unknown>;
}

function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? "POST", headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString();
        let json: Record<string, unknown> = {};
        try {
          json = body.length > 0 ? (JSON.parse(body) as Record<string, unknown>) : {};
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

const CE = { "content-type": "application/cloudevents+json" };
const BATCH = { "content-type": "application/cloudevents-batch+json" };
const JSON_TYPE = { "content-type": "application/json" };
const binaryHeaders = (id: string, contentType: string): Record<string, string> => ({
  "content-type": contentType,
  "ce-specversion": "1.0",
  "ce-id": id,
  "ce-source": "/bodies",
  "ce-type": "body.test",
});
const event = (id: string, extra: Record<string, unknown> = {}) => ({
  specversion: "1.0",
  id,
  source: "/bodies",
  type: "body.test",
  ...extra,
});
/** `[[[…1…]]]` nested `depth` levels deep (depth 0 is the bare number). */
const nested = (depth: number): string => `${"[".repeat(depth)}1${"]".repeat(depth)}`;

describe("request bodies", () => {
  let server: HeraldServer;
  let small: HeraldServer;

  before(async () => {
    server = await start({ limits: { maxBodyBytes: 1024 * 1024 } });
    small = await start({ limits: { maxJsonDepth: 8, maxExtensionNameLength: 10, maxAttributeBytes: 40 } });
  });
  after(async () => {
    await Promise.all([server.close(), small.close()]);
  });

  describe("JSON endpoints read only JSON media types", () => {
    it("415 for text/plain (a simple cross-origin request) or no Content-Type on every JSON body; nothing happens", async () => {
      const made = await request(`${server.url}/subscriptions`, {
        headers: JSON_TYPE,
        body: JSON.stringify({ id: "mt-pull" }),
      });
      assert.equal(made.status, 201, made.body);
      const sink = JSON.stringify({ id: "mt-evil", sink: "http://127.0.0.1:9/evil" });
      const attempts: Array<[string, string, string]> = [
        ["POST", "/subscriptions", sink],
        ["PUT", "/subscriptions/mt-pull", sink],
        ["POST", "/subscriptions/mt-pull/pull", "{}"],
        ["POST", "/subscriptions/mt-pull/ack", '{"ackIds":[]}'],
        ["POST", "/subscriptions/mt-pull/nack", '{"ackIds":[]}'],
        ["POST", "/subscriptions/mt-pull/dead-letters/redrive", "{}"],
      ];
      for (const [method, path, body] of attempts) {
        const refused: Array<Record<string, string>> = [
          { "content-type": "text/plain" },
          {},
          { "content-type": "application/x-www-form-urlencoded" },
        ];
        for (const headers of refused) {
          const answer = await request(`${server.url}${path}`, { method, headers, body });
          assert.equal(answer.status, 415, `${method} ${path} ${JSON.stringify(headers)}: ${answer.body}`);
          assert.equal(answer.json.code, "unsupported-media-type");
          assert.match(String(answer.headers["content-type"]), /^application\/problem\+json/);
        }
      }
      const list = await request(`${server.url}/subscriptions`, { method: "GET" });
      assert.deepEqual(
        (JSON.parse(list.body) as Array<{ id: string; sink?: string }>).map((s) => [s.id, s.sink]),
        [["mt-pull", undefined]],
      );
      // JSON types (with parameters, +json suffixes) are read.
      for (const contentType of ["application/json; charset=utf-8", "application/merge-patch+json"]) {
        const pulled = await request(`${server.url}/subscriptions/mt-pull/pull`, {
          headers: { "content-type": contentType },
          body: "{}",
        });
        assert.equal(pulled.status, 200, pulled.body);
      }
      assert.equal((await request(`${server.url}/subscriptions/mt-pull`, { method: "DELETE" })).status, 200);
    });

    it("ingest: a structured body sent as text/plain is no CloudEvent (415); binary mode keeps any data type", async () => {
      const structured = await request(`${server.url}/events`, {
        headers: { "content-type": "text/plain" },
        body: JSON.stringify(event("mt-1")),
      });
      assert.equal(structured.status, 415);
      assert.equal(structured.json.code, "unsupported-media-type");
      const binary = await request(`${server.url}/events`, {
        headers: binaryHeaders("mt-2", "text/plain"),
        body: "plain text data",
      });
      assert.equal(binary.status, 200, binary.body);
    });
  });

  describe("Content-Encoding", () => {
    it("decodes gzip, deflate, br and stacked codings before the codec reads the event", async () => {
      const data = JSON.stringify({ greeting: "hello", n: 42 });
      const cases: Array<[string, string, Buffer]> = [
        ["gz-1", "gzip", gzipSync(data)],
        ["gz-2", "x-gzip", gzipSync(data)],
        ["df-1", "deflate", deflateSync(data)],
        ["br-1", "br", brotliCompressSync(data)],
        ["id-1", "identity", Buffer.from(data)],
        // Applied in header order (gzip first, then br), so undone br first.
        ["st-1", "gzip, br", brotliCompressSync(gzipSync(data))],
        ["st-2", "gzip, identity, deflate", deflateSync(gzipSync(data))],
      ];
      for (const [id, coding, body] of cases) {
        const answer = await request(`${server.url}/events`, {
          headers: { ...binaryHeaders(id, "application/json"), "content-encoding": coding },
          body,
        });
        assert.equal(answer.status, 200, `${coding}: ${answer.body}`);
        const stored = await server.log.read({ after: 0, limit: 10_000 });
        const found = stored.events.find((e) => e.event.id === id);
        assert.deepEqual(found?.event.data, { greeting: "hello", n: 42 }, coding);
      }
      // Structured and batch bodies and JSON endpoints decode the same way.
      const structured = await request(`${server.url}/events`, {
        headers: { ...CE, "content-encoding": "gzip" },
        body: gzipSync(JSON.stringify(event("gz-s", { data: "x" }))),
      });
      assert.equal(structured.status, 200, structured.body);
      // An empty body is empty whatever its coding.
      const empty = await request(`${server.url}/subscriptions/gz-none/pull`, {
        headers: { ...JSON_TYPE, "content-encoding": "gzip" },
      });
      assert.equal(empty.json.code, "subscription-not-found", empty.body);
      const sub = await request(`${server.url}/subscriptions`, {
        headers: { ...JSON_TYPE, "content-encoding": "br" },
        body: brotliCompressSync(JSON.stringify({ id: "gz-sub" })),
      });
      assert.equal(sub.status, 201, sub.body);
    });

    it("a compression bomb (10 MB of zeros gzipped) against a 1 MB limit answers 413 and stores nothing", async () => {
      const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024));
      assert.ok(bomb.length < 64 * 1024, "the bomb is small on the wire");
      const before = await server.log.headPosition();
      const bombs: Array<Record<string, string>> = [
        { ...binaryHeaders("bomb-1", "application/octet-stream"), "content-encoding": "gzip" },
        { ...CE, "content-encoding": "gzip" },
        { ...JSON_TYPE, "content-encoding": "gzip" },
      ];
      for (const headers of bombs) {
        const path = headers["content-type"] === "application/json" ? "/subscriptions" : "/events";
        const answer = await request(`${server.url}${path}`, { headers, body: bomb });
        assert.equal(answer.status, 413, answer.body);
        assert.equal(answer.json.code, "payload-too-large");
        assert.match(String(answer.json.detail), /1048576 bytes once decoded/);
      }
      // A stacked bomb (gzip of the gzip) stops at the limit too.
      const stacked = await request(`${server.url}/events`, {
        headers: { ...binaryHeaders("bomb-2", "application/octet-stream"), "content-encoding": "gzip, gzip" },
        body: gzipSync(bomb),
      });
      assert.equal(stacked.status, 413, stacked.body);
      assert.equal(await server.log.headPosition(), before);
      // Just under the limit decoded is fine.
      const fits = await request(`${server.url}/events`, {
        headers: { ...binaryHeaders("bomb-3", "application/octet-stream"), "content-encoding": "gzip" },
        body: gzipSync(Buffer.alloc(1024 * 1024 - 1)),
      });
      assert.equal(fits.status, 200, fits.body);
    });

    it("415 unsupported-encoding for unknown or too many stacked codings; 400 for a body that does not decode", async () => {
      const before = await server.log.headPosition();
      for (const coding of ["compress", "zstd", "gzip, snappy", "gzip, gzip, gzip"]) {
        const answer = await request(`${server.url}/events`, {
          headers: { ...binaryHeaders("enc-1", "text/plain"), "content-encoding": coding },
          body: "hello",
        });
        assert.equal(answer.status, 415, `${coding}: ${answer.body}`);
        assert.equal(answer.json.code, "unsupported-encoding");
        assert.equal((answer.json.errors as Array<{ field: string }>)[0]?.field, "Content-Encoding");
      }
      const corrupt = await request(`${server.url}/events`, {
        headers: { ...binaryHeaders("enc-2", "text/plain"), "content-encoding": "gzip" },
        body: "this is not gzip",
      });
      assert.equal(corrupt.status, 400, corrupt.body);
      assert.equal(corrupt.json.code, "bad-request");
      assert.equal(await server.log.headPosition(), before);
    });
  });

  describe("JSON nesting limit", () => {
    it("422 json-too-deep naming the limit in structured, batch and binary mode and on JSON endpoints (default 64)", async () => {
      const before = await server.log.headPosition();
      const deep = nested(100_000);
      const answers = [
        await request(`${server.url}/events`, {
          headers: CE,
          body: `{"specversion":"1.0","id":"d-1","source":"/b","type":"t","data":${deep}}`,
        }),
        await request(`${server.url}/events`, {
          headers: BATCH,
          body: `[{"specversion":"1.0","id":"d-2","source":"/b","type":"t","data":${deep}}]`,
        }),
        await request(`${server.url}/events`, {
          headers: binaryHeaders("d-3", "application/json"),
          body: deep,
        }),
        await request(`${server.url}/events`, {
          headers: binaryHeaders("d-4", "application/vnd.thing+json"),
          body: deep,
        }),
        await request(`${server.url}/subscriptions`, {
          headers: JSON_TYPE,
          body: `{"id":"deep","x":${deep}}`,
        }),
      ];
      for (const answer of answers) {
        assert.equal(answer.status, 422, answer.body.slice(0, 300));
        assert.equal(answer.json.code, "json-too-deep");
        assert.equal(answer.json.maxJsonDepth, 64);
        assert.match(String(answer.json.detail), /limit of 64 levels/);
      }
      assert.equal(await server.log.headPosition(), before);
      // Binary data that is not JSON is bytes: brackets are not nesting there.
      const bytes = await request(`${server.url}/events`, {
        headers: binaryHeaders("d-5", "application/octet-stream"),
        body: deep,
      });
      assert.equal(bytes.status, 200);
    });

    it("data nested exactly to the limit is stored; one level more is refused (the envelope does not count)", async () => {
      const url = `${small.url}/events`;
      const ok = (id: string) =>
        `{"specversion":"1.0","id":"${id}","source":"/b","type":"t","data":${nested(8)}}`;
      const tooDeep = (id: string) =>
        `{"specversion":"1.0","id":"${id}","source":"/b","type":"t","data":${nested(9)}}`;
      assert.equal((await request(url, { headers: CE, body: ok("l-1") })).status, 200);
      assert.equal((await request(url, { headers: CE, body: tooDeep("l-2") })).status, 422);
      assert.equal((await request(url, { headers: BATCH, body: `[${ok("l-3")}]` })).status, 200);
      assert.equal((await request(url, { headers: BATCH, body: `[${tooDeep("l-4")}]` })).status, 422);
      const binary = (id: string, depth: number) =>
        request(url, { headers: binaryHeaders(id, "application/json"), body: nested(depth) });
      assert.equal((await binary("l-5", 8)).status, 200);
      assert.equal((await binary("l-6", 9)).status, 422);
      // Brackets inside strings (escaped quotes included) are text, not nesting.
      const text = `{"specversion":"1.0","id":"l-7","source":"/b","type":"t","data":{"s":"\\"[[[[[[[[[[[[{{{{{{{{"}}`;
      assert.equal((await request(url, { headers: CE, body: text })).status, 200);
      assert.equal(await small.log.headPosition(), 4);
    });

    it("the linear scan agrees with the nesting of any JSON value (property)", () => {
      const depthOf = (value: unknown): number =>
        typeof value === "object" && value !== null
          ? 1 + Math.max(0, ...Object.values(value).map(depthOf))
          : 0;
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 12 }), fc.integer({ min: 0, max: 14 }), (value, limit) => {
          const text = Buffer.from(JSON.stringify(value) ?? "null");
          assert.equal(jsonDepthExceeds(text, limit), depthOf(value) > limit);
        }),
        { numRuns: 500 },
      );
    });
  });

  describe("extension names", () => {
    it("400 extension-name-too-long in structured, batch and binary mode (default 64 characters)", async () => {
      const before = await server.log.headPosition();
      const huge = "x".repeat(1024 * 1024 - 200);
      const structured = await request(`${server.url}/events`, {
        headers: CE,
        body: JSON.stringify(event("n-1", { [huge]: "v" })),
      });
      assert.equal(structured.status, 400, structured.body.slice(0, 300));
      assert.equal(structured.json.code, "extension-name-too-long");
      assert.ok(structured.body.length < 2000, "the answer does not echo the name");
      const header = await request(`${server.url}/events`, {
        headers: { ...binaryHeaders("n-2", "text/plain"), [`ce-${"h".repeat(5000)}`]: "v" },
        body: "data",
      });
      assert.equal(header.status, 400, header.body.slice(0, 300));
      assert.equal(header.json.code, "extension-name-too-long");
      const batch = await request(`${server.url}/events`, {
        headers: BATCH,
        body: JSON.stringify([event("n-3"), event("n-4", { ["e".repeat(65)]: "v" })]),
      });
      assert.equal(batch.status, 400);
      assert.equal(batch.json.code, "extension-name-too-long");
      assert.match((batch.json.errors as Array<{ field: string }>)[0]!.field, /^\[1\]\.e+…$/);
      const fits = await request(`${server.url}/events`, {
        headers: CE,
        body: JSON.stringify(event("n-5", { ["e".repeat(64)]: "v" })),
      });
      assert.equal(fits.status, 200, fits.body);
      assert.equal(await server.log.headPosition(), before + 1);
    });

    it("the limit is configurable and a name counts toward maxAttributeBytes", async () => {
      const url = `${small.url}/events`;
      const long = await request(url, {
        headers: CE,
        body: JSON.stringify(event("c-1", { abcdefghijk: "v" })),
      });
      assert.equal(long.status, 400);
      assert.equal(long.json.code, "extension-name-too-long");
      // 10-character name + 31-byte value = 41 bytes > 40; a 30-byte value fits.
      const over = await request(url, {
        headers: CE,
        body: JSON.stringify(event("c-2", { abcdefghij: "v".repeat(31) })),
      });
      assert.equal(over.status, 400);
      assert.equal(over.json.code, "attribute-too-large");
      assert.deepEqual(
        (over.json.errors as Array<{ field: string }>).map((e) => e.field),
        ["abcdefghij"],
      );
      const fits = await request(url, {
        headers: CE,
        body: JSON.stringify(event("c-3", { abcdefghij: "v".repeat(30) })),
      });
      assert.equal(fits.status, 200, fits.body);
    });

    it("spec attributes and data are no extensions, whatever the limit", async () => {
      const tight = await start({ limits: { maxExtensionNameLength: 3 } });
      try {
        const url = `${tight.url}/events`;
        const spec = {
          subject: "s",
          dataschema: "http://x/s",
          datacontenttype: "application/json",
          data: {},
        };
        const ok = await request(url, {
          headers: CE,
          body: JSON.stringify(event("t-1", { ...spec, abc: "v" })),
        });
        assert.equal(ok.status, 200, ok.body);
        const base64 = await request(url, {
          headers: CE,
          body: JSON.stringify(event("t-2", { data_base64: "AQ==" })),
        });
        assert.equal(base64.status, 200, base64.body);
        const long = await request(url, { headers: CE, body: JSON.stringify(event("t-3", { abcd: "v" })) });
        assert.equal(long.json.code, "extension-name-too-long");
      } finally {
        await tight.close();
      }
    });
  });
});
