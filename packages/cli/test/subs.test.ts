// `herald subs` and `herald tail --sub` against a real `herald serve`.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runCli, startCli } from "./support/cli.js";
import { type FakeServer, startFakeServer } from "./support/fake-server.js";
import { type HeraldProcess, startHerald } from "./support/herald-server.js";

describe("subs (real server)", () => {
  let herald: HeraldProcess;
  let sink: FakeServer;
  let env: Record<string, string>;
  before(async () => {
    herald = await startHerald();
    env = { HERALD_URL: herald.url };
    sink = await startFakeServer(() => ({ status: 204 }));
    const lines = ["a1", "a2", "a3"].map((id) =>
      JSON.stringify({ type: "audit.entry", source: "/subs", id }),
    );
    lines.push(JSON.stringify({ type: "other", source: "/subs", id: "x1" }));
    const published = await runCli(["publish", "--file", "-"], { env, stdin: lines.join("\n") });
    assert.equal(published.code, 0, published.stderr);
  });
  after(async () => {
    await herald.stop();
    await sink.close();
  });

  test("create (pull), list, get", async () => {
    const created = await runCli(
      [
        "subs",
        "create",
        "audit",
        "--start",
        "beginning",
        "--filter",
        "type = 'audit.entry'",
        "--ack-timeout",
        "60000",
      ],
      { env },
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^created subscription audit \(pull; \{"sql":"type = 'audit.entry'"\}\)/);

    const list = await runCli(["subs", "list"], { env });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ID +DELIVERY +FILTERS\n/);
    assert.match(list.stdout, /\naudit +pull +\{"sql":"type = 'audit.entry'"\}\n/);

    const get = await runCli(["subs", "get", "audit"], { env });
    assert.equal(get.code, 0, get.stderr);
    const resource = JSON.parse(get.stdout) as {
      id: string;
      filters: unknown;
      config: Record<string, unknown>;
    };
    assert.equal(resource.id, "audit");
    assert.deepEqual(resource.filters, [{ sql: "type = 'audit.entry'" }]);
    // The Subscriptions API's config is a map of strings: the server answers integers as decimal strings.
    assert.equal(resource.config.ackTimeoutMs, "60000");
    assert.equal(resource.config.start, "beginning");
  });

  test("tail --sub pulls the matching events and acks them; stats shows lag 0", async () => {
    const tail = await runCli(["tail", "--sub", "audit", "--json", "--count", "3", "--wait", "2000"], {
      env,
    });
    assert.equal(tail.code, 0, tail.stderr);
    const ids = tail.stdout
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { event: { id: string } }).event.id);
    assert.deepEqual(ids, ["a1", "a2", "a3"]);

    const stats = await runCli(["subs", "stats", "audit", "--json"], { env });
    assert.equal(stats.code, 0, stats.stderr);
    const parsed = JSON.parse(stats.stdout) as { lag: number; inFlight: number };
    assert.equal(parsed.lag, 0);
    assert.equal(parsed.inFlight, 0);

    const table = await runCli(["subs", "stats", "audit"], { env });
    assert.match(table.stdout, /\nlag +0\n/);

    const empty = await runCli(["tail", "--sub", "audit", "--no-follow", "--json"], { env });
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, "", "acked events are not delivered again");
  });

  test("Ctrl-C ends a waiting tail --sub at once (exit 0)", async () => {
    const tail = startCli(["tail", "--sub", "audit", "--wait", "30000"], { env });
    // The pull is long-polling (nothing to deliver): SIGINT must not wait for its 30 s.
    await tail.waitFor("stderr", /consuming subscription audit/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    tail.child.kill("SIGINT");
    const result = await tail.done;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(Date.now() - started < 3000, "ended without waiting for the long poll");
  });

  test("a push subscription delivers to its sink", async () => {
    const created = await runCli(
      [
        "subs",
        "create",
        "pusher",
        "--sink",
        `${sink.url}/in`,
        "--type",
        "other",
        "--start",
        "beginning",
        "--json",
      ],
      { env },
    );
    assert.equal(created.code, 0, created.stderr);
    assert.equal((JSON.parse(created.stdout) as { sink: string }).sink, `${sink.url}/in`);
    const deadline = Date.now() + 15_000;
    while (sink.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(sink.requests[0]?.headers["ce-id"], "x1");
    const list = await runCli(["subs", "list", "--json"], { env });
    const ids = list.stdout
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { id: string }).id)
      .sort();
    assert.deepEqual(
      ids.filter((id) => id !== "fragile"),
      ["audit", "pusher"],
    );
  });

  test("dead letters: a rejected push is listed with its reason, and redrive delivers it again", async () => {
    let accept = false;
    const fragileSink = await startFakeServer(() => ({
      status: accept ? 204 : 400,
      body: accept ? undefined : "no",
    }));
    try {
      const created = await runCli(
        ["subs", "create", "fragile", "--sink", fragileSink.url, "--type", "fragile", "--start", "now"],
        { env },
      );
      assert.equal(created.code, 0, created.stderr);
      const published = await runCli(["publish", "--type", "fragile", "--source", "/subs", "--id", "f1"], {
        env,
      });
      assert.equal(published.code, 0, published.stderr);

      let letters: Array<{ reason: string; lastStatus: number; event: { id: string } }> = [];
      for (const deadline = Date.now() + 15_000; letters.length === 0 && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const listed = await runCli(["subs", "dead-letters", "fragile", "--json"], { env });
        assert.equal(listed.code, 0, listed.stderr);
        letters = listed.stdout
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line) as (typeof letters)[number]);
      }
      assert.equal(letters.length, 1);
      assert.equal(letters[0]?.event.id, "f1");
      assert.equal(letters[0]?.reason, "rejected");
      assert.equal(letters[0]?.lastStatus, 400);

      const dry = await runCli(["subs", "redrive", "fragile", "--dry-run"], { env });
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(dry.stdout, "would redrive 1 dead letters of fragile\n");
      accept = true;
      const before = fragileSink.requests.length;
      const redriven = await runCli(["subs", "redrive", "fragile", "--type", "fragile"], { env });
      assert.equal(redriven.code, 0, redriven.stderr);
      assert.equal(redriven.stdout, "queued 1 dead letters of fragile for redelivery\n");
      for (
        const deadline = Date.now() + 15_000;
        fragileSink.requests.length === before && Date.now() < deadline;
      ) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(fragileSink.requests.at(-1)?.headers["ce-id"], "f1");

      const table = await runCli(["subs", "dead-letters", "fragile"], { env });
      assert.match(table.stdout, /^POSITION +EVENT ID +TYPE +REASON +ATTEMPTS +LAST FAILURE +REDRIVEN\n/);
      assert.match(table.stdout, /\n\d+ +f1 +fragile +rejected +1 +400 .*yes\n$/);
    } finally {
      await fragileSink.close();
    }
  });

  test("reset: dry run, to now, back to the beginning; bad targets exit 2, unknown ids exit 1", async () => {
    const created = await runCli(
      ["subs", "create", "rewind", "--start", "beginning", "--type", "audit.entry"],
      { env },
    );
    assert.equal(created.code, 0, created.stderr);
    const lag = async () => {
      const stats = await runCli(["subs", "stats", "rewind", "--json"], { env });
      assert.equal(stats.code, 0, stats.stderr);
      return (JSON.parse(stats.stdout) as { lag: number; checkpoint: number }).lag;
    };
    assert.equal(await lag(), 3);

    const dry = await runCli(["subs", "reset", "rewind", "now", "--dry-run", "--json"], { env });
    assert.equal(dry.code, 0, dry.stderr);
    const answer = JSON.parse(dry.stdout) as {
      id: string;
      checkpoint: number;
      redeliver: number;
      dryRun: boolean;
    };
    assert.equal(answer.id, "rewind");
    assert.equal(answer.redeliver, 0);
    assert.equal(answer.dryRun, true);
    assert.equal(await lag(), 3, "a dry run moves nothing");

    const now = await runCli(["subs", "reset", "rewind", "now"], { env });
    assert.equal(now.code, 0, now.stderr);
    assert.equal(now.stdout, `reset rewind to checkpoint ${answer.checkpoint}, 0 events to deliver\n`);
    assert.equal(await lag(), 0);

    const back = await runCli(["subs", "reset", "rewind", "beginning"], { env });
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.stdout, "reset rewind to checkpoint 0, 3 events to deliver\n");
    assert.equal(await lag(), 3);

    const bad = await runCli(["subs", "reset", "rewind", "yesterday"], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /the reset target must be beginning, now, a position or an ISO time/);
    const missing = await runCli(["subs", "reset", "no-such-sub", "now"], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /404/);
  });

  test("an invalid resource: the server names each bad field, exit 1", async () => {
    const result = await runCli(
      ["subs", "create", "bad", "--filter", "type = = 1", "--config", "maxInFlight=0"],
      {
        env,
      },
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /the server rejected the request: 4\d\d /);
    assert.match(result.stderr, /- \/filters\/0/);
    assert.match(result.stderr, /- \/config\/maxInFlight/);
  });

  test("delete, then delete again is a 404 (exit 1)", async () => {
    const deleted = await runCli(["subs", "delete", "audit"], { env });
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stderr, /deleted subscription audit/);
    const again = await runCli(["subs", "delete", "audit"], { env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /404 /);
    const stats = await runCli(["subs", "stats", "audit"], { env });
    assert.equal(stats.code, 1);
  });
});

describe("subs create --retention queue (real server)", () => {
  let herald: HeraldProcess;
  let env: Record<string, string>;
  before(async () => {
    herald = await startHerald(["--retention-interval", "1s"]);
    env = { HERALD_URL: herald.url };
  });
  after(async () => {
    await herald.stop();
  });

  test("a queue subscription's acked events are dropped by the background pass", async () => {
    const created = await runCli(
      ["subs", "create", "work", "--retention", "queue", "--start", "beginning", "--type", "job"],
      { env },
    );
    assert.equal(created.code, 0, created.stderr);
    const get = await runCli(["subs", "get", "work"], { env });
    assert.equal((JSON.parse(get.stdout) as { config: Record<string, string> }).config.retention, "queue");
    const bad = await runCli(["subs", "create", "nope", "--retention", "forever"], { env });
    assert.equal(bad.code, 2, "an invalid choice is a usage error");

    const lines = ["j1", "j2"].map((id) => JSON.stringify({ type: "job", source: "/queue", id }));
    lines.push(JSON.stringify({ type: "note", source: "/queue", id: "n1" }));
    const published = await runCli(["publish", "--file", "-"], { env, stdin: lines.join("\n") });
    assert.equal(published.code, 0, published.stderr);
    const tail = await runCli(["tail", "--sub", "work", "--json", "--count", "2", "--wait", "2000"], { env });
    assert.equal(tail.code, 0, tail.stderr);

    // The acked jobs go within a pass or two (1 s apart); the note, which nothing matches, stays.
    const deadline = Date.now() + 8000;
    let ids: string[] = [];
    while (Date.now() < deadline) {
      const page = (await (await fetch(`${herald.url}/events`)).json()) as {
        events: Array<{ event: { id: string } }>;
      };
      ids = page.events.map((e) => e.event.id);
      if (ids.length === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.deepEqual(ids, ["n1"]);
  });
});
