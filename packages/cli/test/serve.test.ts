// `herald serve`: the listening line, config precedence, persistence and graceful shutdown.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { SETTINGS, type Setting } from "@herald/server";
import { runCli, startCli } from "./support/cli.js";
import { closedPort } from "./support/fake-server.js";
import { startHerald, startServe, tempDir } from "./support/herald-server.js";

describe("serve", () => {
  test("--port 0 prints the real URL and the data directory; SIGTERM shuts down cleanly (exit 0)", async () => {
    const dir = await tempDir();
    const herald = await startHerald(["--data", dir]);
    assert.match(herald.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(herald.url, "http://127.0.0.1:0");
    assert.match(herald.stderr(), new RegExp(`\\(data: ${dir}\\)`));
    const health = await fetch(`${herald.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await herald.stop("SIGTERM"), 0);
    assert.match(herald.stderr(), /SIGTERM received, shutting down/);
    assert.match(herald.stderr(), /herald stopped/);
  });

  test("lifecycle messages appear once: --log-format json gives JSON records on stdout and no human lines", async () => {
    const running = startCli(["serve", "--port", "0", "--storage", "memory", "--log-format", "json"]);
    const match = await running.waitFor("stdout", /"msg":"herald listening on (http:\/\/[^ ]+) \(data: /);
    const url = match[1] ?? "";
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    running.child.kill("SIGTERM");
    const done = await running.done;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stderr, "", "no human lines beside the JSON");
    const records = done.stdout
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as { msg: string; url?: string; version?: string; signal?: string });
    const listening = records.filter((r) => r.msg.startsWith("herald listening on "));
    assert.equal(listening.length, 1);
    assert.equal(listening[0]?.url, url);
    assert.match(listening[0]?.version ?? "", /^\d+\.\d+\.\d+/);
    assert.equal(records.filter((r) => r.signal === "SIGTERM").length, 1);
    assert.equal(records.filter((r) => r.msg === "herald stopped").length, 1);
  });

  test("--log-format pretty: human lines on stderr, each once, and nothing on stdout", async () => {
    const herald = await startHerald(["--log-format", "pretty", "--log-level", "info"]);
    assert.equal(await herald.stop("SIGTERM"), 0);
    const lines = herald.stderr().split("\n");
    assert.equal(lines.filter((l) => l.startsWith("herald listening on ")).length, 1, herald.stderr());
    assert.equal(lines.filter((l) => l.includes("SIGTERM received, shutting down")).length, 1);
    assert.equal(lines.filter((l) => l === "herald stopped").length, 1, herald.stderr());
    assert.equal(herald.stdout(), "");
  });

  test("--retention-max-count and --retention-interval trim streams in the background", async () => {
    const herald = await startHerald(["--retention-max-count", "1", "--retention-interval", "1s"]);
    try {
      const events = ["a", "b", "c"].map((id) => ({ specversion: "1.0", id, source: "/ret", type: "t" }));
      const appended = await fetch(`${herald.url}/streams/trimmed`, {
        method: "POST",
        headers: { "content-type": "application/cloudevents-batch+json" },
        body: JSON.stringify(events),
      });
      assert.equal(appended.status, 200);
      const deadline = Date.now() + 10_000;
      let ids: string[] = [];
      while (Date.now() < deadline) {
        const read = (await (await fetch(`${herald.url}/streams/trimmed`)).json()) as {
          events: Array<{ event: { id: string } }>;
        };
        ids = read.events.map((e) => e.event.id);
        if (ids.length === 1) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(ids, ["c"]);
    } finally {
      assert.equal(await herald.stop(), 0);
    }
  });

  test("a bad duration is a usage error naming the flag", async () => {
    const bad = await runCli(["serve", "--storage", "memory", "--retention-max-age", "soon"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--retention-max-age/);
    assert.match(bad.stderr, /duration/);
  });

  test("SIGINT also exits 0", async () => {
    const herald = await startHerald();
    assert.equal(await herald.stop("SIGINT"), 0);
  });

  test("events survive a restart on the same --data directory (SQLite)", async () => {
    const dir = await tempDir();
    const first = await startHerald(["--data", dir]);
    const published = await runCli(["publish", "--type", "t", "--source", "/persist", "--id", "p1"], {
      env: { HERALD_URL: first.url },
    });
    assert.equal(published.code, 0, published.stderr);
    assert.equal(await first.stop(), 0);
    const second = await startHerald(["--data", dir]);
    const tail = await runCli(["tail", "--from", "beginning", "--no-follow", "--json"], {
      env: { HERALD_URL: second.url },
    });
    assert.equal(await second.stop(), 0);
    assert.equal(tail.code, 0, tail.stderr);
    assert.match(tail.stdout, /"id":"p1"/);
  });

  test("precedence: flag > HERALD_* env > config file > default", async () => {
    const dir = await tempDir();
    const [filePort, envPort, flagPort] = [await closedPort(), await closedPort(), await closedPort()];
    const config = join(dir, "herald.json");
    writeFileSync(config, JSON.stringify({ port: filePort, dataDir: join(dir, "from-file") }));
    const cases: Array<{ args: string[]; env: Record<string, string>; port: number; data: string }> = [
      { args: ["--config", config], env: {}, port: filePort, data: join(dir, "from-file") },
      {
        args: ["--config", config],
        env: { HERALD_PORT: String(envPort), HERALD_DATA_DIR: join(dir, "from-env") },
        port: envPort,
        data: join(dir, "from-env"),
      },
      {
        args: ["--config", config, "--port", String(flagPort), "--data", join(dir, "from-flag")],
        env: { HERALD_PORT: String(envPort), HERALD_DATA_DIR: join(dir, "from-env") },
        port: flagPort,
        data: join(dir, "from-flag"),
      },
      // HERALD_CONFIG names the file when --config is not given.
      { args: [], env: { HERALD_CONFIG: config }, port: filePort, data: join(dir, "from-file") },
    ];
    for (const { args, env, port, data } of cases) {
      const herald = await startServe(["--log-level", "silent", ...args], env);
      assert.equal(herald.url, `http://127.0.0.1:${port}`, JSON.stringify({ args, env }));
      assert.match(herald.stderr(), new RegExp(`\\(data: ${data}\\)`));
      assert.equal(await herald.stop(), 0);
    }
  });

  test("an invalid setting names its source and exits 2", async () => {
    const bad = await runCli(["serve", "--storage", "memory"], { env: { HERALD_PORT: "eighty" } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /HERALD_PORT/);
    const dir = await tempDir();
    const config = join(dir, "bad.json");
    writeFileSync(config, "{ not json");
    const badFile = await runCli(["serve", "--config", config]);
    assert.equal(badFile.code, 2);
    assert.match(badFile.stderr, /bad\.json/);
  });

  test("a port in use is a clear runtime error (exit 1)", async () => {
    const herald = await startHerald();
    const port = new URL(herald.url).port;
    const second = await runCli(["serve", "--storage", "memory", "--log-level", "silent", "--port", port]);
    await herald.stop();
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
  });

  test("--help lists every setting row: flag (or env-only), env var, default, doc", async () => {
    const help = await runCli(["serve", "--help"]);
    assert.equal(help.code, 0);
    const text = help.stdout.replace(/\s+/g, " ");
    const rows: ReadonlyArray<Setting> = SETTINGS;
    for (const row of rows) {
      if (row.flag) assert.ok(text.includes(row.flag), row.flag);
      assert.ok(text.includes(row.env), row.env);
      assert.ok(text.includes(`default ${row.type.show(row.default)}`), `${row.key} default`);
      const firstWords = row.doc.replaceAll("`", "").split(" ").slice(0, 4).join(" ");
      assert.ok(text.includes(firstWords), `${row.key} doc`);
    }
    assert.ok(text.includes("--config <file>") && text.includes("HERALD_CONFIG"));
  });

  test("a flag generated from a setting row reaches the server (--max-batch-length)", async () => {
    const herald = await startHerald(["--max-batch-length", "1"]);
    const event = (id: string) => ({ specversion: "1.0", id, source: "/flags", type: "t" });
    const post = (events: unknown[]) =>
      fetch(`${herald.url}/events`, {
        method: "POST",
        headers: { "content-type": "application/cloudevents-batch+json" },
        body: JSON.stringify(events),
      });
    const tooMany = await post([event("a"), event("b")]);
    const one = await post([event("c")]);
    assert.equal(await herald.stop(), 0);
    assert.equal(tooMany.status, 413);
    assert.equal(one.status, 200);
    const bad = await runCli(["serve", "--storage", "memory", "--max-batch-length", "0"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-batch-length <n>.*must be >= 1/);
  });
});
