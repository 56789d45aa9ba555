// `herald tail` across a server restart: a real `herald serve` killed and started again on the same port
// and data directory. The tail reconnects with backoff and prints every event exactly once.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { runCli, startCli } from "./support/cli.js";
import { type HeraldProcess, startHerald, tempDir } from "./support/herald-server.js";

const ids = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { event: { id: string } }).event.id);

describe("tail reconnects (real server, killed and restarted)", () => {
  let dir: string;
  let herald: HeraldProcess;
  let port: string;
  let env: Record<string, string>;
  before(async () => {
    dir = await tempDir();
    herald = await startHerald(["--data", dir]);
    port = new URL(herald.url).port;
    env = { HERALD_URL: herald.url };
  });
  after(async () => {
    await herald.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const publish = async (id: string) => {
    const result = await runCli(["publish", "--type", "t", "--source", "/reconnect", "--id", id], { env });
    assert.equal(result.code, 0, result.stderr);
  };
  /** SIGKILL, then the same port and data directory again. */
  const restart = async () => {
    await herald.stop("SIGKILL");
    herald = await startHerald(["--data", dir, "--port", port]);
  };

  test("a log tail continues after the last printed position", async () => {
    await publish("log-1");
    const tail = startCli(["tail", "--from", "beginning", "--json", "--interval", "20"], { env });
    await tail.waitFor("stdout", /"log-1"/);
    await publish("log-2");
    await tail.waitFor("stdout", /"log-2"/);
    await restart();
    await tail.waitFor("stderr", /cannot reach .*; retrying/);
    await publish("log-3");
    await tail.waitFor("stdout", /"log-3"/, 20_000);
    tail.child.kill("SIGINT");
    const result = await tail.done;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      ids(result.stdout).filter((id) => id.startsWith("log-")),
      ["log-1", "log-2", "log-3"],
    );
    assert.match(result.stderr, /reconnected to/);
  });

  test("a --sub tail resumes from acked progress without losing or repeating output", async () => {
    const created = await runCli(["subs", "create", "rc", "--start", "now"], { env });
    assert.equal(created.code, 0, created.stderr);
    const tail = startCli(["tail", "--sub", "rc", "--json", "--wait", "200"], { env });
    await tail.waitFor("stderr", /consuming subscription rc/);
    await publish("sub-1");
    await publish("sub-2");
    await tail.waitFor("stdout", /"sub-2"/);
    await restart();
    await tail.waitFor("stderr", /retrying/);
    await publish("sub-3");
    await tail.waitFor("stdout", /"sub-3"/, 20_000);
    tail.child.kill("SIGINT");
    const result = await tail.done;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(ids(result.stdout), ["sub-1", "sub-2", "sub-3"]);
  });

  test("--no-retry exits with the connection error instead", async () => {
    const tail = startCli(["tail", "--json", "--interval", "20", "--no-retry"], { env });
    await tail.waitFor("stderr", /following/);
    await restart();
    const result = await tail.done;
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /cannot reach/);
  });
});
