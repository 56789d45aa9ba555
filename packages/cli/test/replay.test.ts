// `herald replay` from a real `herald serve` to a local sink.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { runCli } from "./support/cli.js";
import {
  closedPort,
  type FakeServer,
  type RecordedRequest,
  type Reply,
  startFakeServer,
} from "./support/fake-server.js";
import { type HeraldProcess, startHerald } from "./support/herald-server.js";

describe("replay (real server → local sink)", () => {
  let herald: HeraldProcess;
  let sink: FakeServer;
  let respond: (request: RecordedRequest, index: number) => Reply;
  let env: Record<string, string>;

  before(async () => {
    herald = await startHerald();
    env = { HERALD_URL: herald.url };
    sink = await startFakeServer((request, index) => respond(request, index));
    // Ten events, one hour apart: positions 1..10, times 2026-01-01T00:00Z .. 09:00Z.
    const lines = Array.from({ length: 10 }, (_, i) =>
      JSON.stringify({
        type: i % 2 === 0 ? "even" : "odd",
        source: "/replay",
        id: `r${i + 1}`,
        time: `2026-01-01T0${i}:00:00Z`,
        datacontenttype: "application/json",
        data: { n: i + 1 },
      }),
    );
    const published = await runCli(["publish", "--file", "-"], { env, stdin: lines.join("\n") });
    assert.equal(published.code, 0, published.stderr);
  });
  after(async () => {
    await herald.stop();
    await sink.close();
  });
  beforeEach(() => {
    sink.requests.length = 0;
    respond = () => ({ status: 204 });
  });

  const receivedIds = () =>
    sink.requests.map((r) => r.headers["ce-id"] ?? (JSON.parse(r.body) as { id: string }).id);

  test("a position range, in order, in binary mode", async () => {
    const result = await runCli(["replay", "--from", "3", "--to", "7", "--sink", `${sink.url}/hook`], {
      env,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(receivedIds(), ["r3", "r4", "r5", "r6", "r7"]);
    const first = sink.requests[0];
    assert.equal(first?.url, "/hook");
    assert.equal(first?.headers["ce-specversion"], "1.0");
    assert.equal(first?.headers["ce-type"], "even");
    assert.equal(first?.headers["ce-source"], "/replay");
    assert.equal(first?.headers["ce-time"], "2026-01-01T02:00:00Z");
    assert.match(String(first?.headers["content-type"]), /^application\/json/);
    assert.deepEqual(JSON.parse(first?.body ?? ""), { n: 3 });
    assert.match(
      result.stdout,
      /^replayed 5 events \(positions 3\.\.7\) to http:\/\/127\.0\.0\.1:\d+\/hook in /,
    );
  });

  test("--mode structured sends whole events; --filter narrows; no --to means the end", async () => {
    const result = await runCli(
      ["replay", "--from", "1", "--sink", sink.url, "--mode", "structured", "--filter", "type = 'odd'"],
      { env },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(receivedIds(), ["r2", "r4", "r6", "r8", "r10"]);
    assert.match(String(sink.requests[0]?.headers["content-type"]), /^application\/cloudevents\+json/);
    assert.deepEqual((JSON.parse(sink.requests[0]?.body ?? "") as { data: unknown }).data, { n: 2 });
  });

  test("a time window (the events' time attribute)", async () => {
    const result = await runCli(
      ["replay", "--since", "2026-01-01T03:00:00Z", "--until", "2026-01-01T05:00:00Z", "--sink", sink.url],
      { env },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(receivedIds(), ["r4", "r5", "r6"]);
  });

  test("--dry-run counts and sends nothing", async () => {
    const result = await runCli(["replay", "--from", "2", "--to", "4", "--sink", sink.url, "--dry-run"], {
      env,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^would replay 3 events \(positions 2\.\.4\)/);
    assert.equal(sink.requests.length, 0);
  });

  test("retryable failures are retried", async () => {
    respond = (_request, index) => (index < 2 ? { status: 503 } : { status: 200 });
    const result = await runCli(
      ["replay", "--from", "1", "--to", "2", "--sink", sink.url, "--retries", "3"],
      { env },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(receivedIds(), ["r1", "r1", "r1", "r2"]);
  });

  test("a sink rejection stops the replay with exit 1 and says where to resume", async () => {
    respond = (request) =>
      request.headers["ce-id"] === "r3" ? { status: 400, body: "bad event" } : { status: 200 };
    const result = await runCli(["replay", "--from", "1", "--to", "5", "--sink", sink.url], { env });
    assert.equal(result.code, 1);
    assert.deepEqual(receivedIds(), ["r1", "r2", "r3"]);
    assert.match(result.stderr, /replay stopped at position 3: sink answered 400 Bad Request: bad event/);
    assert.match(result.stderr, /2 events were delivered before it; resume with --from 3 --to 5/);
  });

  test("--continue-on-error delivers the rest and still exits 1", async () => {
    respond = (request) => (request.headers["ce-id"] === "r2" ? { status: 422 } : { status: 200 });
    const result = await runCli(
      ["replay", "--from", "1", "--to", "4", "--sink", sink.url, "--continue-on-error"],
      {
        env,
      },
    );
    assert.equal(result.code, 1);
    assert.deepEqual(receivedIds(), ["r1", "r2", "r3", "r4"]);
    assert.match(result.stdout, /replayed 3 events .*; 1 failed/);
    assert.match(result.stderr, /failed: position 2 \(r2\): sink answered 422/);
  });

  test("an unreachable sink is a failure after the retries", async () => {
    const port = await closedPort();
    const result = await runCli(
      ["replay", "--from", "1", "--to", "1", "--sink", `http://127.0.0.1:${port}/`, "--retries", "1"],
      { env },
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /sink failed after 2 attempts: .*ECONNREFUSED/);
  });
});
