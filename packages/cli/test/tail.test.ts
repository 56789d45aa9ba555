// `herald tail` against a real `herald serve`: JSON and pretty output, CESQL filters, following.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runCli, startCli } from "./support/cli.js";
import { type HeraldProcess, startHerald } from "./support/herald-server.js";

describe("tail (real server)", () => {
  let herald: HeraldProcess;
  let env: Record<string, string>;
  before(async () => {
    herald = await startHerald();
    env = { HERALD_URL: herald.url };
    const lines = [
      { type: "order.created", source: "/shop", id: "o1", subject: "orders/1", data: { n: 1 } },
      { type: "order.paid", source: "/shop", id: "o2", subject: "orders/1", data: { n: 2 } },
      { type: "order.created", source: "/shop", id: "o3", subject: "orders/2", data: { n: 3 } },
      { type: "stock.moved", source: "/depot", id: "s1", data: { n: 4 } },
    ];
    const result = await runCli(["publish", "--file", "-"], {
      env,
      stdin: lines.map((l) => JSON.stringify(l)).join("\n"),
    });
    assert.equal(result.code, 0, result.stderr);
  });
  after(async () => {
    await herald.stop();
  });

  const jsonLines = (text: string) =>
    text
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { position: number; stream: string; event: { id: string } });

  test("--json from the beginning: every event in position order, then stops with --no-follow", async () => {
    const result = await runCli(["tail", "--from", "beginning", "--no-follow", "--json", "--limit", "2"], {
      env,
    });
    assert.equal(result.code, 0, result.stderr);
    const entries = jsonLines(result.stdout);
    assert.deepEqual(
      entries.map((e) => e.event.id),
      ["o1", "o2", "o3", "s1"],
    );
    assert.deepEqual(
      entries.map((e) => e.position),
      [1, 2, 3, 4],
    );
    assert.equal(entries[0]?.stream, "orders/1");
  });

  test("--filter is evaluated as CESQL by the server", async () => {
    const result = await runCli(
      ["tail", "--from", "beginning", "--no-follow", "--json", "--filter", "type = 'order.created'"],
      { env },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      jsonLines(result.stdout).map((e) => e.event.id),
      ["o1", "o3"],
    );
    const like = await runCli(
      [
        "tail",
        "--from",
        "beginning",
        "--no-follow",
        "--json",
        "--filter",
        "type LIKE 'order.%' AND subject = 'orders/1'",
      ],
      { env },
    );
    assert.deepEqual(
      jsonLines(like.stdout).map((e) => e.event.id),
      ["o1", "o2"],
    );
  });

  test("an invalid filter is the server's 400, exit 1", async () => {
    const result = await runCli(["tail", "--from", "beginning", "--no-follow", "--filter", "type = = 'x'"], {
      env,
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /the server rejected the request: 400 /);
  });

  test("--from a position and --count", async () => {
    const result = await runCli(["tail", "--from", "2", "--count", "2", "--json"], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      jsonLines(result.stdout).map((e) => e.position),
      [2, 3],
    );
  });

  test("pretty output shows position, type, stream, attributes and data", async () => {
    const result = await runCli(["tail", "--from", "1", "--count", "1"], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^#1 {2}order\.created {2}orders\/1@0\n/);
    assert.match(result.stdout, /source=\/shop id=o1 subject=orders\/1/);
    assert.match(result.stdout, /\{"n":1\}/);
    assert.ok(!result.stdout.includes("\u001b["), "no colors when stdout is not a terminal");
  });

  test("--from now follows only new events, and SIGTERM ends it with exit 0", async () => {
    const tail = startCli(["tail", "--json", "--interval", "50", "--filter", "source = '/live'"], { env });
    const following = await tail.waitFor("stderr", /following .* after position (\d+)/);
    assert.ok(Number(following[1]) >= 4, "starts at the end of the log");
    const published = await runCli(["publish", "--type", "live", "--source", "/live", "--id", "l1"], { env });
    assert.equal(published.code, 0, published.stderr);
    await tail.waitFor("stdout", /"id":"l1"/);
    tail.child.kill("SIGTERM");
    const result = await tail.done;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      jsonLines(result.stdout).map((e) => e.event.id),
      ["l1"],
    );
  });

  test("a reader that closes the pipe early (| head) ends tail with exit 0", async () => {
    const tail = startCli(["tail", "--from", "beginning", "--json", "--interval", "20"], { env });
    await tail.waitFor("stdout", /"id":"o1"/);
    tail.child.stdout?.destroy();
    // Keep the log growing so tail has something to write into the closed pipe.
    const published = await runCli(["publish", "--type", "t", "--source", "/pipe"], { env });
    assert.equal(published.code, 0, published.stderr);
    const result = await tail.done;
    assert.equal(result.code, 0, result.stderr);
  });
});
