// The HTTP edge over real sockets: HEAD and OPTIONS, CORS, answer compression, errors node's parser
// hits before routing, and logs that never hold credentials.
import assert from "node:assert/strict";
import http from "node:http";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import { createLogger, type HeraldServer } from "@herald/server";
import fc from "fast-check";
import { negotiateEncoding } from "../src/http/compression.js";
import { redactUrl } from "../src/observability/redact.js";
import { rawExchange } from "./support/raw-http.js";
import { batch, post, start, structured, withServer } from "./server-harness.js";

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** node:http, which (unlike fetch) neither decompresses nor hides CORS headers. */
function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? "GET", headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

const problemOf = (answer: { body: Buffer | string }) =>
  JSON.parse(answer.body.toString()) as { code: string; status: number; type: string; detail: string };

describe("HEAD and OPTIONS", () => {
  let server: HeraldServer;
  before(async () => {
    server = await start({});
    await post(`${server.url}/subscriptions`, JSON.stringify({ id: "live" }), {
      "content-type": "application/json",
    });
  });
  after(() => server.close());

  it("answers HEAD wherever GET works: same status and headers, no body", async () => {
    for (const path of [
      "/healthz",
      "/events?limit=5",
      "/subscriptions",
      "/subscriptions/live/stats",
      "/metrics",
    ]) {
      const got = await request(`${server.url}${path}`);
      const head = await request(`${server.url}${path}`, { method: "HEAD" });
      assert.equal(head.status, got.status, path);
      assert.equal(head.headers["content-type"], got.headers["content-type"], path);
      assert.equal(head.body.length, 0, path);
    }
    const missing = await request(`${server.url}/streams/none`, { method: "HEAD" });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.length, 0);
  });

  it("labels request metrics with the matched route's pattern, never an id", async () => {
    await request(`${server.url}/subscriptions/live/stats`);
    await request(`${server.url}/no/such/path`);
    const text = (await request(`${server.url}/metrics`)).body.toString();
    assert.match(
      text,
      /herald_http_request_duration_seconds_count\{method="GET",route="\/subscriptions\/:id\/stats",status="200"\}/,
    );
    assert.match(text, /route="other",status="404"/);
    assert.ok(!/route="[^"]*live/.test(text), "a subscription id became a label");
  });

  it("ends a HEAD of a streaming route (SSE) once the headers are out", async () => {
    const head = await request(`${server.url}/subscriptions/live/sse`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-type"], "text/event-stream");
    assert.equal(head.body.length, 0);
  });

  it("answers OPTIONS with Allow on every route, and 404 on unknown paths", async () => {
    const events = await request(`${server.url}/events`, { method: "OPTIONS" });
    assert.equal(events.status, 204);
    assert.deepEqual(String(events.headers.allow).split(", ").sort(), ["GET", "HEAD", "OPTIONS", "POST"]);
    const pull = await request(`${server.url}/subscriptions/live/pull`, { method: "OPTIONS" });
    assert.equal(pull.headers.allow, "POST, OPTIONS");
    assert.equal((await request(`${server.url}/nowhere`, { method: "OPTIONS" })).status, 404);
    const denied = await request(`${server.url}/healthz`, { method: "DELETE" });
    assert.equal(denied.status, 405);
    assert.equal(denied.headers.allow, "GET, HEAD, OPTIONS");
  });

  it("needs no key for OPTIONS (a browser's preflight carries none) but does for HEAD", async () => {
    await withServer({ apiKeys: [{ key: "consumer-0001", scopes: ["consume"] }] }, async (s) => {
      assert.equal((await request(`${s.url}/events`, { method: "OPTIONS" })).status, 204);
      assert.equal((await request(`${s.url}/events`, { method: "HEAD" })).status, 401);
      const ok = await request(`${s.url}/events`, {
        method: "HEAD",
        headers: { authorization: "Bearer consumer-0001" },
      });
      assert.equal(ok.status, 200);
    });
  });
});

describe("CORS", () => {
  const APP = "https://app.example.com";

  it("sends no CORS headers unless origins are configured", async () => {
    await withServer({}, async (s) => {
      const answer = await request(`${s.url}/events`, { headers: { origin: APP } });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers["access-control-allow-origin"], undefined);
      const preflight = await request(`${s.url}/events`, {
        method: "OPTIONS",
        headers: { origin: APP, "access-control-request-method": "POST" },
      });
      assert.equal(preflight.headers["access-control-allow-origin"], undefined);
      assert.equal(preflight.headers["access-control-allow-methods"], undefined);
    });
  });

  it("answers allowed origins only, preflights included, with the headers a browser SDK needs", async () => {
    await withServer(
      { cors: { allowOrigins: [APP] }, apiKeys: [{ key: "publisher-001", scopes: ["publish"] }] },
      async (s) => {
        const preflight = await request(`${s.url}/streams/order-1`, {
          method: "OPTIONS",
          headers: {
            origin: APP,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type, ce-id, ce-type, x-evil",
          },
        });
        assert.equal(preflight.status, 204);
        assert.equal(preflight.headers["access-control-allow-origin"], APP);
        assert.equal(preflight.headers["access-control-allow-credentials"], "true");
        assert.match(String(preflight.headers["access-control-allow-methods"]), /\bPOST\b/);
        const allowed = String(preflight.headers["access-control-allow-headers"]).split(", ");
        for (const h of ["authorization", "content-type", "ce-id", "ce-type", "herald-expected-version"])
          assert.ok(allowed.includes(h), `${h} in ${allowed.join(",")}`);
        assert.ok(!allowed.includes("x-evil"));
        assert.match(String(preflight.headers.vary), /Origin/);

        const [body, headers] = structured({ id: "c-1", source: "/web", type: "com.web.click" });
        const created = await request(`${s.url}/events`, {
          method: "POST",
          headers: { ...headers, origin: APP, authorization: "Bearer publisher-001" },
          body,
        });
        assert.equal(created.status, 200);
        assert.equal(created.headers["access-control-allow-origin"], APP);
        const exposed = String(created.headers["access-control-expose-headers"]).toLowerCase();
        for (const h of ["location", "retry-after", "www-authenticate"])
          assert.ok(exposed.includes(h), exposed);
        // A refusal carries them too: the browser app must be able to read the problem.
        const refused = await request(`${s.url}/events`, {
          method: "POST",
          headers: { ...headers, origin: APP },
          body,
        });
        assert.equal(refused.status, 401);
        assert.equal(refused.headers["access-control-allow-origin"], APP);

        const evil = "https://evil.example.net";
        const other = await request(`${s.url}/events`, {
          method: "OPTIONS",
          headers: { origin: evil, "access-control-request-method": "POST" },
        });
        assert.equal(other.headers["access-control-allow-origin"], undefined);
        assert.equal(other.headers["access-control-allow-methods"], undefined);
        const otherPost = await request(`${s.url}/events`, {
          method: "POST",
          headers: { ...headers, origin: evil, authorization: "Bearer publisher-001" },
          body,
        });
        assert.equal(otherPost.headers["access-control-allow-origin"], undefined);
      },
    );
  });
});

describe("answer compression", () => {
  let server: HeraldServer;
  before(async () => {
    server = await start({});
    const events = Array.from({ length: 50 }, (_, i) => ({
      id: `z-${i}`,
      source: "/zip",
      type: "com.example.compressible",
      data: { note: "the same words again and again" },
    }));
    const [body, headers] = batch(events);
    assert.equal((await post(`${server.url}/events`, body, headers)).status, 200);
  });
  after(() => server.close());

  const decoders: Record<string, (b: Buffer) => Buffer> = {
    gzip: gunzipSync,
    br: brotliDecompressSync,
    deflate: inflateSync,
  };

  it("compresses large answers with the coding the client ranks first, and says Vary", async () => {
    const plain = await request(`${server.url}/events?limit=50`);
    assert.equal(plain.headers["content-encoding"], undefined);
    assert.ok(plain.body.length > 4096, String(plain.body.length));
    const cases: Array<[string, string]> = [
      ["gzip", "gzip"],
      ["br", "br"],
      ["deflate", "deflate"],
      ["gzip;q=0.5, br;q=0.9, deflate;q=0.1", "br"],
      ["br;q=0, gzip", "gzip"],
      ["*", "br"],
      ["deflate, *;q=0.2", "deflate"],
    ];
    for (const [accept, expected] of cases) {
      const answer = await request(`${server.url}/events?limit=50`, {
        headers: { "accept-encoding": accept },
      });
      assert.equal(answer.headers["content-encoding"], expected, accept);
      assert.match(String(answer.headers.vary), /Accept-Encoding/, accept);
      assert.equal(Number(answer.headers["content-length"]), answer.body.length);
      assert.ok(answer.body.length < plain.body.length / 2, `${accept}: ${answer.body.length}`);
      assert.deepEqual(decoders[expected]!(answer.body), plain.body, accept);
    }
    const identity = await request(`${server.url}/events?limit=50`, {
      headers: { "accept-encoding": "identity, gzip;q=0" },
    });
    assert.equal(identity.headers["content-encoding"], undefined);
    assert.deepEqual(identity.body, plain.body);
  });

  it("leaves small answers (a single ingest) and event streams uncompressed", async () => {
    const [body, headers] = structured({ id: "small", source: "/zip", type: "com.example.small" });
    const ingest = await request(`${server.url}/events`, {
      method: "POST",
      headers: { ...headers, "accept-encoding": "gzip, br" },
      body,
    });
    assert.equal(ingest.status, 200);
    assert.equal(ingest.headers["content-encoding"], undefined);
    assert.equal(ingest.headers.vary, undefined);
    await post(`${server.url}/subscriptions`, JSON.stringify({ id: "zip-sse" }), {
      "content-type": "application/json",
    });
    const sse = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(
        `${server.url}/subscriptions/zip-sse/sse`,
        { headers: { "accept-encoding": "gzip" } },
        resolve,
      );
      req.on("error", reject);
    });
    assert.equal(sse.headers["content-type"], "text/event-stream");
    assert.equal(sse.headers["content-encoding"], undefined);
    sse.destroy();
  });

  it("negotiates by q-values", () => {
    assert.equal(negotiateEncoding(undefined), undefined);
    assert.equal(negotiateEncoding(""), undefined);
    assert.equal(negotiateEncoding("identity"), undefined);
    assert.equal(negotiateEncoding("GZIP"), "gzip");
    assert.equal(negotiateEncoding("gzip;q=1, br;q=1"), "br");
    assert.equal(negotiateEncoding("gzip;q=0.002, deflate;q=0.001"), "gzip");
    assert.equal(negotiateEncoding("*;q=0"), undefined);
    assert.equal(negotiateEncoding(["gzip;q=0.1", "deflate;q=0.2"]), "deflate");
  });
});

describe("errors node's HTTP layer finds before routing are problems", () => {
  let server: HeraldServer;
  before(async () => {
    server = await start({ limits: { requestTimeoutMs: 400 } });
  });
  after(() => server.close());

  const assertProblem = (
    answer: { status: number; headers: Record<string, string>; body: string },
    code: string,
    status: number,
  ) => {
    assert.equal(answer.status, status, answer.body);
    assert.match(answer.headers["content-type"] ?? "", /^application\/problem\+json/);
    const problem = problemOf(answer);
    assert.equal(problem.code, code);
    assert.equal(problem.status, status);
    assert.equal(Number(answer.headers["content-length"]), Buffer.byteLength(answer.body));
  };

  it("431 headers-too-large for headers over node's limit", async () => {
    const answer = await rawExchange(
      server.url,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
    );
    assertProblem(answer, "headers-too-large", 431);
    assert.ok(answer.closed);
  });

  it("400 bad-request for broken framing", async () => {
    for (const bytes of [
      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "NOT HTTP AT ALL\r\n\r\n",
      "POST /events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ]) {
      const answer = await rawExchange(server.url, bytes);
      assertProblem(answer, "bad-request", 400);
      assert.ok(answer.closed, bytes);
    }
  });

  it("408 request-timeout for a request that stops half-way", async () => {
    const started = Date.now();
    const answer = await rawExchange(
      server.url,
      "POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents+json\r\nContent-Length: 100\r\n\r\n{",
    );
    assertProblem(answer, "request-timeout", 408);
    assert.ok(Date.now() - started >= 300, "answered before the timeout");
  });

  it("keeps serving afterwards", async () => {
    assert.equal((await request(`${server.url}/healthz`)).status, 200);
  });
});

describe("logs never hold credentials", () => {
  it("masks secret query parameters", () => {
    assert.equal(
      redactUrl("/subscriptions/x/ws?access_token=s3cr3t&ack=auto&API-KEY=k&Password=p#frag"),
      "/subscriptions/x/ws?access_token=[REDACTED]&ack=auto&API-KEY=[REDACTED]&Password=[REDACTED]#frag",
    );
    assert.equal(redactUrl("/events?after=3&limit=2"), "/events?after=3&limit=2");
    assert.equal(redactUrl("/healthz"), "/healthz");
  });

  it("masks every secret parameter whatever its spelling, and keeps the rest of the URL as it was", () => {
    const secretName = fc
      .tuple(
        fc.constantFrom(
          "access_token",
          "token",
          "key",
          "api_key",
          "apikey",
          "secret",
          "password",
          "signature",
        ),
        fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
        fc.boolean(),
      )
      .map(([name, upper, dash]) => {
        const cased = [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join("");
        return dash ? cased.replace("_", "-") : cased;
      });
    const plainName = fc.constantFrom("after", "limit", "ack", "max", "filter", "keys", "tokenish");
    const value = fc.stringMatching(/^[A-Za-z0-9%._~-]{1,16}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(secretName, plainName), value), { maxLength: 8 }), (pairs) => {
        const secret = (name: string) =>
          !["after", "limit", "ack", "max", "filter", "keys", "tokenish"].includes(name);
        const url = `/p/a?${pairs.map(([n, v]) => `${n}=S${v}`).join("&")}`;
        const out = redactUrl(url);
        const expected = pairs.map(([n, v]) => (secret(n) ? `${n}=[REDACTED]` : `${n}=S${v}`)).join("&");
        assert.equal(out, `/p/a?${expected}`);
      }),
    );
  });

  it("at trace level, neither a query token nor an Authorization header reaches the log", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger("trace", sink);
    const QUERY_SECRET = "query-secret-7f3a";
    const HEADER_SECRET = "header-secret-9c1d";
    await withServer({ logger, apiKeys: [{ key: HEADER_SECRET, scopes: ["admin"] }] }, async (s) => {
      const answer = await request(`${s.url}/events?limit=1&token=${QUERY_SECRET}&password=${QUERY_SECRET}`, {
        headers: { authorization: `Bearer ${HEADER_SECRET}` },
      });
      assert.equal(answer.status, 200);
      await request(`${s.url}/subscriptions/x/ws?access_token=${QUERY_SECRET}`, {
        headers: { connection: "Upgrade", upgrade: "websocket" },
      }).catch(() => undefined);
      // Records that carry headers or URLs directly are masked by the logger itself.
      logger.info(
        { headers: { authorization: `Bearer ${HEADER_SECRET}` }, sink: `http://h/?secret=${QUERY_SECRET}` },
        "x",
      );
      logger.trace({ req: { headers: { authorization: HEADER_SECRET } } }, "y");
    });
    const text = lines.join("");
    assert.match(text, /"msg":"request"/, "the request line was logged");
    assert.match(text, /\/events\?limit=1&token=\[REDACTED\]&password=\[REDACTED\]/);
    assert.ok(!text.includes(QUERY_SECRET), "query secret in the log");
    assert.ok(!text.includes(HEADER_SECRET), "Authorization in the log");
  });
});
