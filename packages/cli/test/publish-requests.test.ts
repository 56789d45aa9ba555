// The exact requests `herald publish` sends, and how it reports answers, against a recording fake.
// (Behaviour against the real server is in publish.test.ts.)
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { runCli } from "./support/cli.js";
import { type FakeServer, type RecordedRequest, type Reply, startFakeServer } from "./support/fake-server.js";

/** Answers like Herald: one result per event, positions counting up from 1. */
function appendAnswer(request: RecordedRequest): Reply {
  const parsed = JSON.parse(request.body) as Record<string, unknown> | Record<string, unknown>[];
  const events = Array.isArray(parsed) ? parsed : [parsed];
  const results = events.map((event) => ({
    id: event.id,
    source: event.source,
    position: ++position,
    stream: String(event.subject ?? event.source),
    version: 0,
    duplicate: false,
  }));
  return { status: 200, body: { results } };
}
let position = 0;

describe("publish: request shapes", () => {
  let server: FakeServer;
  let respond: (request: RecordedRequest) => Reply = appendAnswer;
  let dir: string;
  before(async () => {
    server = await startFakeServer((request) => respond(request));
    dir = await mkdtemp(join(tmpdir(), "herald-cli-"));
  });
  after(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    position = 0;
    respond = appendAnswer;
  });

  test("one event from flags: structured mode, all attributes, Bearer key", async () => {
    const result = await runCli(
      [
        "publish",
        "--type",
        "com.example.order.created",
        "--source",
        "/shop",
        "--id",
        "order-1",
        "--subject",
        "orders/1",
        "--data",
        '{"total": 42}',
        "--ext",
        "partitionkey=orders",
        "--ext",
        "tenant=acme",
      ],
      { env: { HERALD_URL: server.url, HERALD_API_KEY: "secret-key-1" } },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(server.requests.length, 1);
    const [request] = server.requests;
    assert.equal(request?.method, "POST");
    assert.equal(request?.url, "/events");
    assert.equal(request?.headers["content-type"], "application/cloudevents+json");
    assert.equal(request?.headers.authorization, "Bearer secret-key-1");
    const event = JSON.parse(request?.body ?? "") as Record<string, unknown>;
    assert.equal(event.specversion, "1.0");
    assert.equal(event.id, "order-1");
    assert.equal(event.type, "com.example.order.created");
    assert.equal(event.subject, "orders/1");
    assert.equal(event.datacontenttype, "application/json");
    assert.deepEqual(event.data, { total: 42 });
    assert.equal(event.partitionkey, "orders");
    assert.equal(event.tenant, "acme");
    assert.ok(!Number.isNaN(Date.parse(String(event.time))), "time defaults to now");
    assert.equal(result.stdout, "published order-1 at position 1 (stream orders/1, version 0)\n");
  });

  test("--datacontenttype text/plain sends --data as a string", async () => {
    const result = await runCli(
      ["publish", "--type", "t", "--source", "/s", "--datacontenttype", "text/plain", "--data", "hello {"],
      { env: { HERALD_URL: server.url } },
    );
    assert.equal(result.code, 0, result.stderr);
    const event = JSON.parse(server.requests[0]?.body ?? "") as Record<string, unknown>;
    assert.equal(event.data, "hello {");
    assert.equal(event.datacontenttype, "text/plain");
  });

  test("--stream and --expected-version go to POST /streams/{stream} with the header", async () => {
    const result = await runCli(
      ["publish", "--type", "t", "--source", "/s", "--stream", "orders/7", "--expected-version", "no-stream"],
      { env: { HERALD_URL: server.url } },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(server.requests[0]?.url, "/streams/orders%2F7");
    assert.equal(server.requests[0]?.headers["herald-expected-version"], "no-stream");
  });

  test("a JSON-lines file goes in batches of --batch-size; blank lines are skipped", async () => {
    const file = join(dir, "five.jsonl");
    const lines = [1, 2, 3, 4, 5].map((n) => JSON.stringify({ type: "t", source: "/f", id: `e${n}` }));
    writeFileSync(file, `${lines.slice(0, 2).join("\n")}\n\n${lines.slice(2).join("\r\n")}\n`);
    const result = await runCli(["publish", "--file", file, "--batch-size", "2"], {
      env: { HERALD_URL: server.url },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(server.requests.length, 3);
    for (const request of server.requests) {
      assert.equal(request.headers["content-type"], "application/cloudevents-batch+json");
    }
    const batches = server.requests.map((r) =>
      (JSON.parse(r.body) as Array<{ id: string }>).map((e) => e.id),
    );
    assert.deepEqual(batches, [["e1", "e2"], ["e3", "e4"], ["e5"]]);
    const first = JSON.parse(server.requests[0]?.body ?? "[]") as Array<Record<string, unknown>>;
    assert.equal(first[0]?.specversion, "1.0", "specversion is filled in");
    assert.match(result.stdout, /^published 5 events from .*five\.jsonl, positions 1\.\.5 in /);
  });

  test("--progress draws a bar on stderr even off a terminal; --no-progress and auto stay quiet", async () => {
    const file = join(dir, "progress.jsonl");
    const lines = Array.from({ length: 50 }, (_, i) =>
      JSON.stringify({ type: "t", source: "/p", id: `p${i}` }),
    );
    writeFileSync(file, `${lines.join("\n")}\n`);
    const forced = await runCli(["publish", "--file", file, "--progress", "--batch-size", "10"], {
      env: { HERALD_URL: server.url },
    });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /publishing \[.*\] 100% \| 50 events \| /);
    assert.doesNotMatch(forced.stdout, /publishing \[/, "the bar never goes to stdout");
    for (const flags of [["--no-progress"], []]) {
      const quiet = await runCli(["publish", "--file", file, ...flags], { env: { HERALD_URL: server.url } });
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.equal(
        quiet.stderr,
        "",
        `no bar with ${flags.join(" ") || "auto"} when stderr is not a terminal`,
      );
    }
  });

  test("stdin (--file -) with --json prints one result per line", async () => {
    const input = ["a", "b", "c"].map((id) => JSON.stringify({ type: "t", source: "/in", id })).join("\n");
    const result = await runCli(["publish", "--file", "-", "--json"], {
      stdin: input,
      env: { HERALD_URL: server.url },
    });
    assert.equal(result.code, 0, result.stderr);
    const results = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { id: string; position: number });
    assert.deepEqual(
      results.map((r) => [r.id, r.position]),
      [
        ["a", 1],
        ["b", 2],
        ["c", 3],
      ],
    );
  });

  test("lines without id get a fresh one each", async () => {
    const input = `${JSON.stringify({ type: "t", source: "/in" })}\n${JSON.stringify({ type: "t", source: "/in" })}\n`;
    const result = await runCli(["publish", "--file", "-"], {
      stdin: input,
      env: { HERALD_URL: server.url },
    });
    assert.equal(result.code, 0, result.stderr);
    const events = JSON.parse(server.requests[0]?.body ?? "[]") as Array<{ id: string }>;
    assert.equal(events.length, 2);
    assert.match(events[0]?.id ?? "", /^[0-9a-f-]{36}$/);
    assert.notEqual(events[0]?.id, events[1]?.id);
  });

  test("a bad line stops the run: earlier batches stay published, the message says where", async () => {
    const good = (id: string) => JSON.stringify({ type: "t", source: "/f", id });
    const input = [good("1"), good("2"), "{not json", good("4")].join("\n");
    const result = await runCli(["publish", "--file", "-", "--batch-size", "2"], {
      stdin: input,
      env: { HERALD_URL: server.url },
    });
    assert.equal(result.code, 1);
    assert.equal(server.requests.length, 1, "the first full batch was sent, nothing after the bad line");
    assert.match(result.stderr, /stdin: line 3: not valid JSON/);
    assert.match(result.stderr, /2 events before line 3 were published/);
  });

  test("a line that is not an object is refused", async () => {
    const result = await runCli(["publish", "--file", "-"], {
      stdin: "[1,2]\n",
      env: { HERALD_URL: server.url },
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /line 1: expected one JSON object \(a CloudEvent\) per line/);
    assert.match(result.stderr, /nothing was published/);
    assert.equal(server.requests.length, 0);
  });

  test("a problem answer: exit 1 with the detail and every field error", async () => {
    respond = () => ({
      status: 422,
      headers: { "content-type": "application/problem+json" },
      body: {
        type: "https://herald.dev/problems/invalid-event",
        title: "Invalid Event",
        status: 422,
        detail: "the event is not a valid CloudEvent",
        errors: [
          { field: "source", reason: "must be a URI-reference" },
          { field: "type", reason: "must not be empty" },
        ],
      },
    });
    const result = await runCli(["publish", "--type", "t", "--source", "/s"], {
      env: { HERALD_URL: server.url },
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /422 Invalid Event: the event is not a valid CloudEvent/);
    assert.match(result.stderr, /- source: must be a URI-reference/);
    assert.match(result.stderr, /- type: must not be empty/);
    assert.equal(result.stdout, "");
  });

  test("a rejected batch names its lines and what was already stored", async () => {
    respond = (request) =>
      server.requests.length === 2
        ? {
            status: 409,
            body: { title: "Conflict", status: 409, detail: "version mismatch", actualVersion: 4 },
          }
        : appendAnswer(request);
    const input = ["1", "2", "3", "4"]
      .map((id) => JSON.stringify({ type: "t", source: "/f", id }))
      .join("\n");
    const result = await runCli(["publish", "--file", "-", "--batch-size", "2"], {
      stdin: input,
      env: { HERALD_URL: server.url },
    });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /rejected the batch of lines 3-4 \(2 events, none stored\): 409 Conflict: version mismatch/,
    );
    assert.match(result.stderr, /actual version: 4/);
    assert.match(result.stderr, /2 events before line 3 were published/);
  });

  test("a connection lost mid-run: exit 3, and what is known to be stored", async () => {
    respond = (request) =>
      server.requests.length === 2 ? { status: 0, destroy: true } : appendAnswer(request);
    const input = ["1", "2", "3", "4"]
      .map((id) => JSON.stringify({ type: "t", source: "/f", id }))
      .join("\n");
    const result = await runCli(["publish", "--file", "-", "--batch-size", "2"], {
      stdin: input,
      env: { HERALD_URL: server.url },
    });
    assert.equal(result.code, 3, result.stderr);
    assert.match(
      result.stderr,
      /no answer for the batch of lines 3-4: it may or may not be stored; 2 events before line 3/,
    );
    assert.match(result.stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+: /);
  });

  test("a non-JSON error answer still gives the status", async () => {
    respond = () => ({ status: 502, body: "upstream down", headers: { "content-type": "text/plain" } });
    const result = await runCli(["publish", "--type", "t", "--source", "/s"], {
      env: { HERALD_URL: server.url },
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /502 Bad Gateway: upstream down/);
  });
});
