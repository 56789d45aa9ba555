// Command-line mistakes: each gets a clear message on stderr and exit code 2, before anything is sent.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "./support/cli.js";
import { closedPort, type FakeServer, startFakeServer } from "./support/fake-server.js";

describe("usage errors (exit 2)", () => {
  // Any request reaching this server would mean a usage error was not caught before sending.
  let server: FakeServer;
  before(async () => {
    server = await startFakeServer(() => ({
      status: 500,
      body: { status: 500, title: "should not be called" },
    }));
  });
  after(() => server.close());

  const cases: Array<{ name: string; args: string[]; stderr: RegExp }> = [
    { name: "no command", args: [], stderr: /Usage: herald/ },
    { name: "unknown command", args: ["frobnicate"], stderr: /unknown command 'frobnicate'/ },
    { name: "unknown flag", args: ["tail", "--bogus"], stderr: /unknown option '--bogus'/ },
    { name: "publish without --type", args: ["publish", "--source", "/s"], stderr: /--type is required/ },
    { name: "publish without --source", args: ["publish", "--type", "t"], stderr: /--source is required/ },
    {
      name: "publish --data that is not JSON",
      args: ["publish", "--type", "t", "--source", "/s", "--data", "{oops"],
      stderr: /--data is not valid JSON/,
    },
    {
      name: "publish --ext without =",
      args: ["publish", "--type", "t", "--source", "/s", "--ext", "flag"],
      stderr: /--ext expects name=value, got "flag"/,
    },
    {
      name: "publish --ext with an invalid name",
      args: ["publish", "--type", "t", "--source", "/s", "--ext", "Bad-Name=1"],
      stderr: /--ext name "Bad-Name" must be 1-20 lower-case letters or digits/,
    },
    {
      name: "publish --ext overriding a core attribute",
      args: ["publish", "--type", "t", "--source", "/s", "--ext", "type=x"],
      stderr: /--ext cannot set "type"/,
    },
    {
      name: "publish --file mixed with event flags",
      args: ["publish", "--file", "-", "--type", "t"],
      stderr: /--file reads whole events; drop --type/,
    },
    {
      name: "publish --file that does not exist",
      args: ["publish", "--file", "/nonexistent/events.jsonl"],
      stderr: /cannot read --file \/nonexistent\/events.jsonl: ENOENT/,
    },
    {
      name: "publish --batch-size 0",
      args: ["publish", "--file", "-", "--batch-size", "0"],
      stderr: /'--batch-size <n>' argument '0' is invalid/,
    },
    {
      name: "publish --expected-version without --stream",
      args: ["publish", "--type", "t", "--source", "/s", "--expected-version", "3"],
      stderr: /--expected-version needs --stream/,
    },
    {
      name: "publish --expected-version garbage",
      args: ["publish", "--type", "t", "--source", "/s", "--stream", "a", "--expected-version", "maybe"],
      stderr: /--expected-version must be any, no-stream, exists or a version number/,
    },
    { name: "invalid --url", args: ["tail", "--url", "not a url"], stderr: /expected an http\(s\) URL/ },
    {
      name: "tail --from garbage",
      args: ["tail", "--from", "yesterday"],
      stderr: /--from must be beginning, now/,
    },
    {
      name: "tail --sub with --filter",
      args: ["tail", "--sub", "s1", "--filter", "true"],
      stderr: /--filter applies to the log/,
    },
    {
      name: "replay without --sink",
      args: ["replay", "--from", "1"],
      stderr: /required option '--sink <url>'/,
    },
    {
      name: "replay without a range",
      args: ["replay", "--sink", "http://127.0.0.1:9/"],
      stderr: /say what to replay/,
    },
    {
      name: "replay --to before --from",
      args: ["replay", "--sink", "http://127.0.0.1:9/", "--from", "5", "--to", "2"],
      stderr: /--to 2 is before --from 5/,
    },
    {
      name: "replay mixing positions and times",
      args: ["replay", "--sink", "http://127.0.0.1:9/", "--from", "5", "--since", "2026-01-01T00:00:00Z"],
      stderr: /not both/,
    },
    {
      name: "replay --since garbage",
      args: ["replay", "--sink", "http://127.0.0.1:9/", "--since", "last tuesday"],
      stderr: /expected an ISO 8601 time/,
    },
    {
      name: "replay --mode unknown",
      args: ["replay", "--sink", "http://127.0.0.1:9/", "--from", "1", "--mode", "batch"],
      stderr: /argument 'batch' is invalid. Allowed choices are binary, structured/,
    },
    { name: "subs get without id", args: ["subs", "get"], stderr: /missing required argument 'id'/ },
    {
      name: "subs create --start garbage",
      args: ["subs", "create", "s1", "--start", "soon"],
      stderr: /--start must be beginning, now, a position or an ISO time/,
    },
    {
      name: "serve --port out of range",
      args: ["serve", "--port", "70000"],
      stderr: /must be between 0 and 65535/,
    },
    {
      name: "serve --storage unknown",
      args: ["serve", "--storage", "tape"],
      stderr: /Allowed choices are sqlite, memory/,
    },
  ];

  for (const { name, args, stderr } of cases) {
    test(name, async () => {
      const result = await runCli(args, { env: { HERALD_URL: server.url } });
      assert.equal(result.code, 2, `exit code; stderr: ${result.stderr}`);
      assert.match(result.stderr, stderr);
      assert.equal(result.stdout, "");
    });
  }

  test("nothing reached the server", () => {
    assert.deepEqual(server.requests, []);
  });

  test("--data-file that is not JSON names the file flag", async () => {
    const dir = await mkdtemp(join(tmpdir(), "herald-cli-"));
    const file = join(dir, "data.json");
    writeFileSync(file, "not json");
    const result = await runCli(["publish", "--type", "t", "--source", "/s", "--data-file", file], {
      env: { HERALD_URL: server.url },
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--data-file is not valid JSON/);
  });
});

describe("help and version (exit 0)", () => {
  test("--help lists every command", async () => {
    const result = await runCli(["--help"]);
    assert.equal(result.code, 0);
    for (const command of ["serve", "publish", "tail", "replay", "subs"]) {
      assert.match(result.stdout, new RegExp(`\\b${command}\\b`));
    }
  });
  test("subs --help lists the subcommands", async () => {
    const result = await runCli(["subs", "--help"]);
    assert.equal(result.code, 0);
    for (const command of ["list", "get", "create", "delete", "stats"]) {
      assert.match(result.stdout, new RegExp(`\\b${command}\\b`));
    }
  });
  test("--version", async () => {
    const result = await runCli(["--version"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});

describe("cannot connect (exit 3)", () => {
  for (const args of [
    ["publish", "--type", "t", "--source", "/s"],
    ["tail", "--no-follow"],
    ["subs", "list"],
    ["replay", "--sink", "http://127.0.0.1:9/", "--from", "1"],
  ]) {
    test(args.join(" "), async () => {
      const port = await closedPort();
      const result = await runCli([...args, "--url", `http://127.0.0.1:${port}`]);
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, new RegExp(`cannot reach http://127.0.0.1:${port}: .*ECONNREFUSED`));
      assert.match(result.stderr, /is `herald serve` running there\?/);
    });
  }
  test("HERALD_URL is used when --url is not given", async () => {
    const port = await closedPort();
    const result = await runCli(["subs", "list"], { env: { HERALD_URL: `http://127.0.0.1:${port}` } });
    assert.equal(result.code, 3);
    assert.match(result.stderr, new RegExp(`127.0.0.1:${port}`));
  });
});
