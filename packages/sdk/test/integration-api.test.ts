// HeraldClient's coverage of the HTTP API against a real `herald serve` (in-process): reads, the log
// iterator, stream appends with expected versions, subscription resources, stats, dead letters and
// redrive, and the errors a caller branches on.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import {
  deliverySettings,
  HeraldApiError,
  HeraldClient,
  type JsonEventObject,
  type LogEntry,
  TransportError,
} from "@herald/sdk";
import { startHerald } from "./support/herald.js";

let herald: Awaited<ReturnType<typeof startHerald>>;
let client: HeraldClient;
before(async () => {
  herald = await startHerald();
  client = new HeraldClient({ url: herald.url, retry: false });
});
after(async () => {
  await client.close();
  await herald.close();
});

const event = (type: string, subject: string, n: number) =>
  new CloudEvent({ source: "/api-test", type, subject, data: { n } });

/** Polls an async check every 20 ms until it holds; fails after `ms`. */
async function waitFor(check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function collect(iterable: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const entry of iterable) out.push(entry);
  return out;
}

describe("reads", () => {
  const positions: number[] = [];
  before(async () => {
    const sent = await client.sendBatch(
      Array.from({ length: 7 }, (_, n) => event(n % 2 === 0 ? "read.even" : "read.odd", "reads", n)),
    );
    assert.ok(sent.ok);
    positions.push(...sent.results.map((r) => r.position));
  });

  test("readEvents pages by `after`/`next` and filters with CESQL on the server", async () => {
    const first = positions[0]! - 1;
    const page = await client.readEvents({ after: first, limit: 3 });
    assert.deepEqual(
      page.events.map((e) => e.position),
      positions.slice(0, 3),
    );
    assert.equal(page.events[0]!.stream, "reads");
    assert.equal(page.events[0]!.event.type, "read.even");
    const nextPage = await client.readEvents({ after: page.next, limit: 3 });
    assert.deepEqual(
      nextPage.events.map((e) => e.position),
      positions.slice(3, 6),
    );
    const odd = await client.readEvents({ after: first, filter: "type = 'read.odd'" });
    assert.deepEqual(
      odd.events.map((e) => (e.event.data as { n: number }).n),
      [1, 3, 5],
    );
  });

  test("events() pages until caught up, and stops at `until`", async () => {
    const from = positions[0]! - 1;
    const all = await collect(client.events({ after: from, pageSize: 2 }));
    assert.deepEqual(
      all.map((e) => e.position).filter((p) => positions.includes(p)),
      positions,
    );
    const upTo = await collect(client.events({ after: from, pageSize: 2, until: positions[4]! }));
    assert.deepEqual(
      upTo.map((e) => e.position),
      positions.slice(0, 5),
    );
    const filtered = await collect(client.events({ after: from, pageSize: 2, filter: "type = 'read.odd'" }));
    assert.deepEqual(
      filtered.map((e) => e.position),
      [positions[1], positions[3], positions[5]],
    );
  });

  test("events({ follow }) sees events published later; aborting ends the loop without throwing", async () => {
    const head = (await client.readEvents({ after: 0, limit: 1000 })).next;
    const controller = new AbortController();
    const seen: string[] = [];
    const loop = (async () => {
      for await (const entry of client.events({
        after: head,
        follow: true,
        pollIntervalMs: 20,
        signal: controller.signal,
      })) {
        seen.push(entry.event.id);
      }
    })();
    const late = event("read.late", "late", 1);
    assert.ok((await client.send(late)).ok);
    await waitFor(() => seen.includes(late.id), 5_000);
    controller.abort();
    await loop;
    assert.deepEqual(seen, [late.id]);
  });

  test("readStream reads forwards from a version, and backwards from the end", async () => {
    const forwards = await client.readStream("reads", { from: 2, limit: 3 });
    assert.deepEqual(
      forwards.events.map((e) => e.version),
      [2, 3, 4],
    );
    assert.equal(forwards.next, 5);
    const backwards = await client.readStream("reads", { direction: "backwards", limit: 2 });
    assert.deepEqual(
      backwards.events.map((e) => e.version),
      [6, 5],
    );
  });

  test("reading a stream that does not exist is a HeraldApiError with the catalog code", async () => {
    await assert.rejects(client.readStream("no-such-stream-here"), (error: unknown) => {
      assert.ok(error instanceof HeraldApiError);
      assert.equal(error.status, 404);
      assert.equal(error.code, "stream-not-found");
      assert.equal(error.problem.code, "stream-not-found");
      return true;
    });
  });
});

describe("stream list and deletion", () => {
  test("listStreams pages by name with versions; streams() follows next; deleteStream leaves a tombstone", async () => {
    for (const name of ["lst/b", "lst/a", "lst/c"]) {
      assert.ok((await client.append(name, [event("lst.t", name, 0), event("lst.t", name, 1)])).ok);
    }
    const page = await client.listStreams({ prefix: "lst/", limit: 2 });
    assert.deepEqual(page, {
      streams: [
        { stream: "lst/a", version: 1, deleted: false },
        { stream: "lst/b", version: 1, deleted: false },
      ],
      next: "lst/b",
    });
    const all: string[] = [];
    for await (const info of client.streams({ prefix: "lst/", pageSize: 1 })) all.push(info.stream);
    assert.deepEqual(all, ["lst/a", "lst/b", "lst/c"]);

    await assert.rejects(client.deleteStream("lst/a", { expectedVersion: 0 }), (error: unknown) => {
      assert.ok(error instanceof HeraldApiError);
      assert.equal(error.code, "stream-version-conflict");
      return true;
    });
    assert.deepEqual(await client.deleteStream("lst/a", { expectedVersion: 1 }), {
      stream: "lst/a",
      version: 1,
      deleted: true,
    });
    assert.equal(await client.deleteStream("lst/a"), undefined, "already deleted: not found");
    await assert.rejects(client.deleteStream("lst/none", { mustExist: true }), HeraldApiError);
    const after = await client.listStreams({ prefix: "lst/" });
    assert.deepEqual(
      after.streams.map((s) => s.stream),
      ["lst/b", "lst/c"],
    );
    const withDeleted = await client.listStreams({ prefix: "lst/", deleted: true });
    assert.deepEqual(withDeleted.streams[0], { stream: "lst/a", version: 1, deleted: true });

    // hard: the tombstone goes too, and the name starts again at version 0.
    assert.deepEqual(await client.deleteStream("lst/a", { hard: true }), {
      stream: "lst/a",
      version: 1,
      deleted: true,
    });
    const purged = await client.listStreams({ prefix: "lst/", deleted: true });
    assert.deepEqual(
      purged.streams.map((s) => s.stream),
      ["lst/b", "lst/c"],
    );
    const reborn = await client.append("lst/a", [event("lst.t", "lst/a", 9)]);
    assert.ok(reborn.kind === "ack", "append after a hard delete is accepted");
    assert.equal(reborn.results[0]?.version, 0);
  });
});

describe("append", () => {
  test("expected versions: no-stream, then exact; a mismatch is a 409 nack with the actual version", async () => {
    const first = await client.append("ledger-1", [event("ledger.opened", "x", 0)], {
      expectedVersion: "no-stream",
    });
    assert.ok(first.ok);
    assert.deepEqual(
      first.results.map((r) => [r.stream, r.version]),
      [["ledger-1", 0]],
    );
    const second = await client.append(
      "ledger-1",
      [event("ledger.credited", "x", 1), event("ledger.credited", "x", 2)],
      { expectedVersion: 0 },
    );
    assert.ok(second.ok);
    assert.deepEqual(
      second.results.map((r) => r.version),
      [1, 2],
    );
    const stale = await client.append("ledger-1", [event("ledger.credited", "x", 3)], { expectedVersion: 0 });
    assert.ok(stale.kind === "nack");
    assert.equal(stale.status, 409);
    assert.equal(stale.problem.code, "stream-version-conflict");
    assert.equal(stale.problem.actualVersion, 2);
    assert.equal((await client.readStream("ledger-1")).events.length, 3, "the refused append stored nothing");
  });

  test("validate: false sends JSON objects verbatim; the server names the bad field of a batch", async () => {
    const good: JsonEventObject = { specversion: "1.0", id: "raw-1", source: "/raw", type: "raw.ok" };
    const bad = { specversion: "1.0", id: "raw-2", source: "/raw", type: "" } as JsonEventObject;
    const refused = await client.sendBatch([good, bad], { validate: false });
    assert.ok(refused.kind === "nack");
    assert.equal(refused.problem.code, "event-invalid");
    const fields = (refused.problem.errors ?? []).map((e) => (e as { field: string }).field);
    assert.ok(
      fields.some((f) => f.startsWith("[1]")),
      `the second event is named: ${fields.join(", ")}`,
    );
    const stored = await client.send(good, { validate: false });
    assert.ok(stored.ok);
    const page = await client.readEvents({ after: stored.position - 1, limit: 1 });
    assert.deepEqual(page.events[0]!.event, good);
  });
});

describe("subscriptions", () => {
  test("create, list, get, update (PUT), ensure, delete", async () => {
    const created = await client.createSubscription({
      id: "crud",
      types: ["crud.made"],
      config: { maxInFlight: 8, ackTimeoutMs: 5_000, start: "beginning" },
    });
    assert.equal(created.id, "crud");
    assert.deepEqual(deliverySettings(created.config).maxInFlight, 8);
    const listed = await client.listSubscriptions();
    assert.ok(listed.some((s) => s.id === "crud"));
    const got = await client.getSubscription("crud");
    assert.deepEqual(got?.types, ["crud.made"]);
    const updated = await client.updateSubscription("crud", {
      types: ["crud.changed"],
      config: { maxInFlight: 16 },
    });
    assert.deepEqual(updated.types, ["crud.changed"]);
    assert.equal(deliverySettings((await client.getSubscription("crud"))?.config).maxInFlight, 16);
    const ensured = await client.ensureSubscription(
      { id: "crud", types: ["other"] },
      { onDifference: "keep" },
    );
    assert.deepEqual(ensured.types, ["crud.changed"], "an existing subscription is returned unchanged");
    assert.equal(await client.deleteSubscription("crud"), true);
    assert.equal(await client.deleteSubscription("crud"), false);
    assert.equal(await client.getSubscription("crud"), undefined);
    for (const call of [
      () => client.getSubscription("crud", { mustExist: true }),
      () => client.deleteSubscription("crud", { mustExist: true }),
      () => client.updateSubscription("crud", {}),
    ]) {
      await assert.rejects(call(), (error: unknown) => {
        assert.ok(error instanceof HeraldApiError);
        assert.equal(error.code, "subscription-not-found");
        return true;
      });
    }
  });

  test("an invalid resource is a HeraldApiError whose problem lists each field", async () => {
    await assert.rejects(
      client.createSubscription({
        id: "bad-one",
        filters: [{ sql: "type = = 1" }],
        config: { maxInFlight: 0 },
      }),
      (error: unknown) => {
        assert.ok(error instanceof HeraldApiError);
        assert.equal(error.status, 400);
        const { problem } = error;
        assert.ok(problem.code !== undefined, "Herald's problem, with a catalog code");
        const fields = (problem.errors ?? []).map((e) => e.field);
        assert.ok(
          fields.some((f) => f.startsWith("/filters/0")),
          fields.join(", "),
        );
        assert.ok(fields.includes("/config/maxInFlight"), fields.join(", "));
        return true;
      },
    );
  });

  test("pull, ack and nack answer counts; stats follow; max-deliveries dead-letters; redrive", async () => {
    await client.createSubscription({
      id: "dlq",
      types: ["dlq.job"],
      config: { maxDeliveries: 1, ordering: "none", start: "beginning" },
    });
    const jobs = [event("dlq.job", "jobs", 1), event("dlq.job", "jobs", 2)];
    assert.ok((await client.sendBatch(jobs)).ok);
    const pulled = await client.pull("dlq", { max: 10, waitMs: 2_000 });
    assert.equal(pulled.length, 2);
    assert.ok(pulled[0]!.event instanceof CloudEvent);
    const [kept, failed] = pulled;
    assert.deepEqual(await client.ack("dlq", [kept!.ackId, "no-such-ack-id"]), {
      acked: 1,
      unknown: ["no-such-ack-id"],
    });
    assert.deepEqual(await client.nack("dlq", [failed!.ackId]), { nacked: 1, unknown: [] });

    await waitFor(async () => (await client.subscriptionStats("dlq")).deadLettered === 1, 5_000);
    const stats = await client.subscriptionStats("dlq");
    assert.equal(stats.id, "dlq");
    assert.equal(stats.inFlight, 0);
    assert.equal(stats.lag, 0);

    const page = await client.deadLetters("dlq", { limit: 10 });
    assert.equal(page.deadLetters.length, 1);
    const letter = page.deadLetters[0]!;
    assert.equal(letter.subscription, "dlq");
    assert.equal(letter.reason, "max-deliveries");
    assert.equal(letter.attempts, 1);
    assert.equal(letter.event.id, failed!.event.id);
    assert.equal(letter.position, failed!.position);
    assert.equal(typeof letter.lastError, "string");
    assert.equal(typeof letter.deadLetterPosition, "number");
    assert.equal(letter.redriven, false);
    assert.equal((await client.deadLetters("dlq", { after: page.next })).deadLetters.length, 0);

    assert.deepEqual(await client.redrive("dlq", { dryRun: true }), { count: 1, dryRun: true });
    assert.deepEqual(await client.redrive("dlq", { from: 0, to: failed!.position - 1 }), {
      count: 0,
      dryRun: false,
    });
    assert.deepEqual(await client.redrive("dlq"), { count: 1, dryRun: false });
    const again = await client.pull("dlq", { max: 10, waitMs: 2_000 });
    assert.deepEqual(
      again.map((m) => m.event.id),
      [failed!.event.id],
      "the redriven event is delivered again",
    );
    await client.ack(
      "dlq",
      again.map((m) => m.ackId),
    );
    assert.equal(
      (await client.redrive("dlq", { dryRun: true })).count,
      0,
      "redriven letters are not counted",
    );
    assert.equal((await client.deadLetters("dlq")).deadLetters[0]!.redriven, true);
    await client.deleteSubscription("dlq");
  });
});

test("index, health and readiness carry the server's version", async () => {
  const version = herald.server.version;
  assert.deepEqual(await client.health(), { status: "ok", version });
  const { log, ...ready } = await client.ready();
  assert.deepEqual(ready, { status: "ready", version });
  assert.ok(log !== undefined && log.id.length > 0, "the log's identity");
  const index = await client.index();
  assert.equal(index.name, "herald");
  assert.equal(index.version, version);
  assert.equal(index.links.health, "/healthz");
});

describe("transport", () => {
  test("no answer is a TransportError that names the URL; an aborted call says ABORTED", async () => {
    const unreachable = new HeraldClient({ url: "http://127.0.0.1:1", retry: false });
    await assert.rejects(unreachable.listSubscriptions(), (error: unknown) => {
      assert.ok(error instanceof TransportError);
      assert.equal(error.code, "ECONNREFUSED");
      assert.equal(error.url, "http://127.0.0.1:1/subscriptions");
      return true;
    });
    await unreachable.close();
    await client.createSubscription({ id: "abortable", types: ["never.sent"], config: { start: "now" } });
    const controller = new AbortController();
    const waiting = client.pull("abortable", { waitMs: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(
      waiting,
      (error: unknown) => error instanceof TransportError && error.code === "ABORTED",
    );
    await client.deleteSubscription("abortable");
  });
});

test("deliverySettings reads numbers and digit strings in either backoff spelling, and refuses others", () => {
  assert.deepEqual(
    deliverySettings({
      maxInFlight: "64",
      ackTimeoutMs: 30_000,
      maxDeliveries: "10",
      backoff: { baseMs: "100", capMs: 5_000 },
      ordering: "none",
      retention: "queue",
    }),
    {
      ordering: "none",
      retention: "queue",
      maxInFlight: 64,
      ackTimeoutMs: 30_000,
      maxDeliveries: 10,
      backoffBaseMs: 100,
      backoffCapMs: 5_000,
    },
  );
  assert.deepEqual(deliverySettings({ backoffBaseMs: "7" }), { backoffBaseMs: 7 });
  assert.deepEqual(deliverySettings(undefined), {});
  assert.throws(
    () => deliverySettings({ maxInFlight: "1.5" }),
    /config\.maxInFlight is not an integer: 1\.5/,
  );
  assert.throws(() => deliverySettings({ timeoutMs: "-1" }), /config\.timeoutMs/);
});
