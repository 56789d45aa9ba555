// `herald read <stream>`, `herald tail --stream`, replay by recorded time and `--version --url`, against
// a real `herald serve`.
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { runCli, startCli } from "./support/cli.js";
import { type FakeServer, startFakeServer } from "./support/fake-server.js";
import { type HeraldProcess, startHerald } from "./support/herald-server.js";

interface Line {
  readonly position: number;
  readonly stream: string;
  readonly version: number;
  readonly recordedAt: number;
  readonly event: { readonly id: string };
}
const jsonLines = (text: string): Line[] =>
  text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Line);

async function postEvent(url: string, event: Record<string, unknown>, stream?: string): Promise<void> {
  const response = await fetch(
    stream === undefined ? `${url}/events` : `${url}/streams/${encodeURIComponent(stream)}`,
    {
      method: "POST",
      headers: { "content-type": "application/cloudevents+json" },
      body: JSON.stringify({ specversion: "1.0", source: "/cli-streams", type: "t", ...event }),
    },
  );
  assert.equal(response.status, 200, await response.text());
}

describe("read and tail --stream (real server)", () => {
  let herald: HeraldProcess;
  let env: Record<string, string>;
  before(async () => {
    herald = await startHerald();
    env = { HERALD_URL: herald.url };
    for (let i = 0; i < 5; i++) await postEvent(herald.url, { id: `o${i}` }, "order/1");
    await postEvent(herald.url, { id: "other" }, "order/2");
  });
  after(async () => {
    await herald.stop();
  });

  test("read: the whole stream in version order, across pages", async () => {
    const result = await runCli(["read", "order/1", "--json", "--page-size", "2"], { env });
    assert.equal(result.code, 0, result.stderr);
    const lines = jsonLines(result.stdout);
    assert.deepEqual(
      lines.map((l) => [l.version, l.event.id]),
      [0, 1, 2, 3, 4].map((v) => [v, `o${v}`]),
    );
    assert.ok(lines.every((l) => l.stream === "order/1" && typeof l.recordedAt === "number"));
  });

  test("read: --direction backwards --from --limit", async () => {
    const result = await runCli(
      [
        "read",
        "order/1",
        "--json",
        "--direction",
        "backwards",
        "--from",
        "3",
        "--limit",
        "3",
        "--page-size",
        "2",
      ],
      { env },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      jsonLines(result.stdout).map((l) => l.version),
      [3, 2, 1],
    );
    const tailEnd = await runCli(["read", "order/1", "--json", "--direction", "backwards"], { env });
    assert.deepEqual(
      jsonLines(tailEnd.stdout).map((l) => l.version),
      [4, 3, 2, 1, 0],
    );
  });

  test("read: pretty output names the stream and version", async () => {
    const result = await runCli(["read", "order/2"], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^#6 {2}t {2}order\/2@0\n {4}source=\/cli-streams id=other/);
  });

  test("read: a missing stream is exit 1 with a clear message; bad flags are exit 2", async () => {
    const missing = await runCli(["read", "nope"], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /stream "nope" does not exist/);
    const bad = await runCli(["read", "order/1", "--direction", "sideways"], { env });
    assert.equal(bad.code, 2);
  });

  test("tail --stream follows one stream only, from a version", async () => {
    const running = startCli(["tail", "--stream", "order/1", "--from", "3", "--json", "--interval", "20"], {
      env,
    });
    await running.waitFor("stdout", /"version":4/);
    await postEvent(herald.url, { id: "elsewhere" }, "order/2");
    await postEvent(herald.url, { id: "o5" }, "order/1");
    await running.waitFor("stdout", /"id":"o5"/);
    running.child.kill("SIGINT");
    const result = await running.done;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      jsonLines(result.stdout).map((l) => [l.version, l.event.id]),
      [
        [3, "o3"],
        [4, "o4"],
        [5, "o5"],
      ],
    );
  });

  test("tail --stream waits for a stream that does not exist yet; --no-follow stops at its end", async () => {
    const running = startCli(["tail", "--stream", "later", "--json", "--interval", "20"], { env });
    await running.waitFor("stderr", /following stream later/);
    await postEvent(herald.url, { id: "l0" }, "later");
    await running.waitFor("stdout", /"id":"l0"/);
    running.child.kill("SIGINT");
    assert.equal((await running.done).code, 0);
    const once = await runCli(
      ["tail", "--stream", "order/1", "--from", "beginning", "--no-follow", "--json"],
      {
        env,
      },
    );
    assert.equal(once.code, 0, once.stderr);
    assert.equal(jsonLines(once.stdout).length, 6);
    const mixed = await runCli(["tail", "--stream", "a", "--sub", "b"], { env });
    assert.equal(mixed.code, 2);
  });

  test("streams list and streams delete", async () => {
    const listed = await runCli(["streams", "list", "--prefix", "order/", "--json"], { env });
    assert.equal(listed.code, 0, listed.stderr);
    const infos = listed.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { stream: string; version: number });
    assert.deepEqual(
      infos.map((i) => i.stream),
      ["order/1", "order/2"],
    );
    assert.ok(infos[0]!.version >= 4);
    await postEvent(herald.url, { id: "gone-0" }, "gone");
    const conflict = await runCli(["streams", "delete", "gone", "--expected-version", "3"], { env });
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /actual version: 0/);
    const deleted = await runCli(["streams", "delete", "gone"], { env });
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stderr, /deleted stream gone at version 0/);
    const table = await runCli(["streams", "list", "--deleted"], { env });
    assert.match(table.stdout, /^STREAM +VERSION\ngone +0 +deleted\n/);
    const read = await runCli(["read", "gone"], { env });
    assert.equal(read.code, 1);
    const again = await runCli(["streams", "delete", "gone"], { env });
    assert.equal(again.code, 1);
    // --hard removes the tombstone: the name is free again and starts at version 0.
    const hard = await runCli(["streams", "delete", "gone", "--hard"], { env });
    assert.equal(hard.code, 0, hard.stderr);
    assert.match(hard.stderr, /hard-deleted stream gone \(was at version 0\); its name is free again/);
    const after = await runCli(["streams", "list", "--deleted", "--prefix", "gone", "--json"], { env });
    assert.equal(after.stdout, "");
    await postEvent(herald.url, { id: "gone-1" }, "gone");
    const reborn = await runCli(["streams", "list", "--prefix", "gone", "--json"], { env });
    assert.deepEqual(JSON.parse(reborn.stdout), { stream: "gone", version: 0, deleted: false });
    const missing = await runCli(["streams", "delete", "never-was", "--hard"], { env });
    assert.equal(missing.code, 1);
  });

  test("--version --url prints the server's version from /healthz, or unknown", async () => {
    const health = (await (await fetch(`${herald.url}/healthz`)).json()) as { version?: unknown };
    const expected = typeof health.version === "string" ? health.version : "unknown";
    const result = await runCli(["--version", "--url", herald.url]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`^\\d+\\.\\d+\\.\\d+\\nserver: ${expected.replace(/\./g, "\\.")}\\n$`),
    );
    const unreachable = await runCli(["--version", "--url", "http://127.0.0.1:9"]);
    assert.equal(unreachable.code, 3);
  });
});

describe("replay by time without a time attribute (real server)", () => {
  let herald: HeraldProcess;
  let sink: FakeServer;
  let since: string;
  let until: string;
  before(async () => {
    herald = await startHerald();
    sink = await startFakeServer(() => ({ status: 204 }));
    // Recorded times are ms: the waits keep each boundary strictly between two commits.
    await postEvent(herald.url, { id: "A" });
    await delay(15);
    since = new Date().toISOString();
    await delay(15);
    await postEvent(herald.url, { id: "B" });
    await postEvent(herald.url, { id: "C", time: "2020-01-01T00:00:00Z" });
    await postEvent(herald.url, { id: "D" });
    await delay(15);
    until = new Date().toISOString();
    await delay(15);
    await postEvent(herald.url, { id: "E" });
  });
  after(async () => {
    await herald.stop();
    await sink.close();
  });
  const received = () => sink.requests.map((r) => r.headers["ce-id"]);

  test("uses the time the log recorded an event that has no time, and counts what it skipped", async () => {
    sink.requests.length = 0;
    const result = await runCli(["replay", "--since", since, "--until", until, "--sink", sink.url], {
      env: { HERALD_URL: herald.url },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(received(), ["B", "D"]);
    assert.match(result.stdout, /^replayed 2 events/);
    assert.match(result.stderr, /skipped 3: outside --since\/--until \(2 before, 1 after\)/);
    assert.match(result.stderr, /4 events had no time attribute; the time the log recorded them was used/);
  });

  test("--clock log windows on the recorded time alone and stops at --until", async () => {
    sink.requests.length = 0;
    const result = await runCli(
      ["replay", "--since", since, "--until", until, "--clock", "log", "--sink", sink.url],
      {
        env: { HERALD_URL: herald.url },
      },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(received(), ["B", "C", "D"]);
    assert.match(result.stderr, /skipped 1: outside --since\/--until \(1 before, 0 after\)/);
    const positions = await runCli(["replay", "--from", "1", "--clock", "log", "--sink", sink.url], {
      env: { HERALD_URL: herald.url },
    });
    assert.equal(positions.code, 2);
  });
});
