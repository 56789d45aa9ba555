// `herald publish` against a real `herald serve`: what it stores and what it prints.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "./support/cli.js";
import { type HeraldProcess, startHerald, tempDir } from "./support/herald-server.js";

interface Entry {
  position: number;
  stream: string;
  version: number;
  event: Record<string, unknown>;
}

describe("publish (real server)", () => {
  let herald: HeraldProcess;
  let env: Record<string, string>;
  before(async () => {
    herald = await startHerald();
    env = { HERALD_URL: herald.url };
  });
  after(async () => {
    await herald.stop();
  });

  async function readLog(): Promise<Entry[]> {
    const result = await runCli(["tail", "--from", "beginning", "--no-follow", "--json", "--limit", "1000"], {
      env,
    });
    assert.equal(result.code, 0, result.stderr);
    return result.stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Entry);
  }

  test("--ext deliverat schedules the event: printed as scheduled, not in the log yet", async () => {
    const at = new Date(Date.now() + 10 * 60_000).toISOString();
    const result = await runCli(
      ["publish", "--type", "t.sched", "--source", "/cli-sched", "--id", "s-1", "--ext", `deliverat=${at}`],
      { env },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`^scheduled s-1 for ${at.replace(/\./g, "\\.")} \\(stream /cli-sched;`),
    );
    assert.ok(!(await readLog()).some((entry) => entry.event.id === "s-1"));
    const again = await runCli(
      ["publish", "--type", "t.sched", "--source", "/cli-sched", "--id", "s-1", "--ext", `deliverat=${at}`],
      { env },
    );
    assert.match(again.stdout, /^duplicate: \/cli-sched s-1 is already scheduled for /);
  });

  test("an event from flags is stored with every attribute", async () => {
    const result = await runCli(
      [
        "publish",
        "--type",
        "com.example.order.created",
        "--source",
        "/shop",
        "--id",
        "flags-1",
        "--subject",
        "orders/1",
        "--time",
        "2026-01-02T03:04:05Z",
        "--data",
        '{"total":42}',
        "--ext",
        "partitionkey=orders",
        "--json",
      ],
      { env },
    );
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout) as { position: number; stream: string; duplicate: boolean };
    assert.equal(answer.stream, "orders", "the partitionkey names the stream");
    assert.equal(answer.duplicate, false);
    const stored = (await readLog()).find((entry) => entry.event.id === "flags-1");
    assert.ok(stored, "the event is in the log");
    assert.equal(stored.position, answer.position);
    assert.deepEqual(stored.event, {
      specversion: "1.0",
      id: "flags-1",
      source: "/shop",
      type: "com.example.order.created",
      subject: "orders/1",
      time: "2026-01-02T03:04:05Z",
      datacontenttype: "application/json",
      partitionkey: "orders",
      data: { total: 42 },
    });
  });

  test("publishing the same source+id again reports the first copy", async () => {
    const args = ["publish", "--type", "t", "--source", "/dup", "--id", "same"];
    const first = await runCli(args, { env });
    const second = await runCli(args, { env });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    const position = first.stdout.match(/at position (\d+)/)?.[1];
    assert.ok(position, first.stdout);
    assert.match(second.stdout, new RegExp(`duplicate: /dup same is already at position ${position}\\b`));
    assert.equal((await readLog()).filter((e) => e.event.source === "/dup").length, 1);
  });

  test("a file in batches, then stdin: every line stored once, in order", async () => {
    const dir = await tempDir();
    const file = join(dir, "events.jsonl");
    const lines = Array.from({ length: 1234 }, (_, i) =>
      JSON.stringify({ specversion: "1.0", type: "bulk.file", source: "/bulk", id: `f${i}`, data: { i } }),
    );
    writeFileSync(file, `${lines.join("\n")}\n`);
    const fromFile = await runCli(["publish", "--file", file, "--batch-size", "100"], { env });
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.match(fromFile.stdout, /^published 1234 events from .*events\.jsonl, positions \d+\.\.\d+ in /);

    const stdinLines = ["a", "b", "c"].map((id) =>
      JSON.stringify({ type: "bulk.stdin", source: "/bulk", id }),
    );
    const fromStdin = await runCli(["publish", "--file", "-", "--json"], {
      env,
      stdin: stdinLines.join("\n"),
    });
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.equal(fromStdin.stdout.trim().split("\n").length, 3);

    const log = await readLog();
    const bulk = log.filter((e) => e.event.type === "bulk.file");
    assert.deepEqual(
      bulk.map((e) => e.event.id),
      lines.map((_, i) => `f${i}`),
    );
    const positions = bulk.map((e) => e.position);
    assert.deepEqual(
      positions,
      positions.map((_, i) => (positions[0] ?? 0) + i),
      "one contiguous range",
    );
    assert.deepEqual(
      log.filter((e) => e.event.type === "bulk.stdin").map((e) => e.event.id),
      ["a", "b", "c"],
    );
  });

  test("an invalid event: the server's problem is printed, exit 1, nothing stored", async () => {
    const before = (await readLog()).length;
    const bad = JSON.stringify({ specversion: "1.0", id: "x", source: "/bad", type: 42 });
    const good = JSON.stringify({ id: "y", source: "/bad", type: "ok" });
    const result = await runCli(["publish", "--file", "-"], { env, stdin: `${good}\n${bad}\n` });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /rejected the batch of lines 1-2 \(2 events, none stored\): 4\d\d /);
    assert.match(result.stderr, /- line 2: type: /, "the invalid field is named, with its input line");
    assert.match(result.stderr, /nothing was published/);
    assert.equal((await readLog()).length, before, "the batch is atomic");
  });

  test("an expected-version conflict prints the actual version", async () => {
    const args = ["publish", "--type", "t", "--source", "/es", "--stream", "account-7"];
    const first = await runCli([...args, "--expected-version", "no-stream"], { env });
    assert.equal(first.code, 0, first.stderr);
    const again = await runCli([...args, "--expected-version", "no-stream"], { env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /409 /);
    const next = await runCli([...args, "--expected-version", "0"], { env });
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stdout, /stream account-7, version 1/);
  });
});
