// The console's queries over real HTTP on a real server: lineage and correlation (SQLite storage, so
// the log's lineage index is the one on disk), subscription stats with lag in seconds, delivery rate
// and the stalled flag, the delivery ledger, dead-letter filters, the health series, the filter error
// position, and the scopes each of them needs.
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import type { ApiKeyConfig, HeraldServer } from "@herald/server";
import { api, waitFor } from "./support/harness.js";
import { type ReceivedRequest, type Sink, startSink } from "./support/sink.js";
import { batch, get, type Problem, post, start, structured, tempDir } from "./server-harness.js";

interface Entry {
  position: number;
  stream: string;
  version: number;
  recordedAt: number;
  event: Record<string, unknown>;
  depth?: number;
  causedBy?: number;
}
interface Lineage {
  event: Entry;
  causes: Entry[];
  effects: Entry[];
  correlation: { id: string; events: Entry[]; next: number; more: boolean } | null;
  missing: Array<{ id: string; neededBy: number }>;
  truncated: boolean;
}

const ids = (entries: readonly Entry[]) => entries.map((e) => e.event.id);

describe("lineage and correlation (SQLite)", () => {
  const dir = tempDir("herald-lineage-");
  let server: HeraldServer;
  let positions: Record<string, number>;
  before(async () => {
    server = await start({ dataDir: dir.path });
    // order-1 starts the conversation (no attributes); pay-1 and mail-1 answer it; ship-1 answers pay-1;
    // noise events in between; lost-1 names a cause that was never stored.
    const answer = await post<{ results: Array<{ id: string; position: number }> }>(
      `${server.url}/events`,
      ...batch([
        { id: "order-1", source: "/shop", type: "order.placed" },
        { id: "noise-1", source: "/shop", type: "noise" },
        {
          id: "pay-1",
          source: "/pay",
          type: "payment.taken",
          causationid: "order-1",
          correlationid: "order-1",
        },
        {
          id: "mail-1",
          source: "/mail",
          type: "mail.sent",
          causationid: "order-1",
          correlationid: "order-1",
        },
        { id: "noise-2", source: "/shop", type: "noise", correlationid: "other" },
        { id: "ship-1", source: "/ship", type: "shipped", causationid: "pay-1", correlationid: "order-1" },
        { id: "lost-1", source: "/x", type: "orphan", causationid: "ghost", correlationid: "ghost" },
      ]),
    );
    assert.equal(answer.status, 200);
    positions = Object.fromEntries(answer.body.results.map((r) => [r.id, r.position]));
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it("answers causes up to the root, effects as a tree and the correlation, by source+id", async () => {
    const res = await get<Lineage>(`${server.url}/events/lineage?source=%2Fship&id=ship-1`);
    assert.equal(res.status, 200);
    const lineage = res.body;
    assert.equal(lineage.event.position, positions["ship-1"]);
    assert.equal(typeof lineage.event.recordedAt, "number");
    assert.deepEqual(
      lineage.causes.map((c) => [c.event.id, c.depth]),
      [
        ["pay-1", 1],
        ["order-1", 2],
      ],
    );
    assert.deepEqual(lineage.effects, []);
    assert.deepEqual(lineage.missing, []);
    assert.equal(lineage.correlation?.id, "order-1");
    assert.deepEqual(ids(lineage.correlation!.events), ["pay-1", "mail-1", "ship-1"]);
    assert.equal(lineage.correlation?.more, false);
  });

  it("finds the root (no attributes) by source+id and walks its effects breadth-first", async () => {
    const res = await get<Lineage>(`${server.url}/events/lineage?source=%2Fshop&id=order-1`);
    assert.equal(res.status, 200);
    const { effects, causes, correlation, truncated } = res.body;
    assert.deepEqual(causes, []);
    assert.deepEqual(
      effects.map((e) => [e.event.id, e.depth, e.causedBy]),
      [
        ["pay-1", 1, positions["order-1"]],
        ["mail-1", 1, positions["order-1"]],
        ["ship-1", 2, positions["pay-1"]],
      ],
    );
    assert.equal(truncated, false);
    // Its own id is the conversation's correlation id.
    assert.equal(correlation?.id, "order-1");
  });

  it("asks by position, cuts at depth and limit, and names a missing cause", async () => {
    const byPosition = await get<Lineage>(
      `${server.url}/events/lineage?position=${positions["order-1"]}&depth=1`,
    );
    assert.equal(byPosition.status, 200);
    assert.deepEqual(ids(byPosition.body.effects), ["pay-1", "mail-1"]);
    assert.equal(byPosition.body.truncated, true, "ship-1 lies below depth 1");
    const limited = await get<Lineage>(
      `${server.url}/events/lineage?position=${positions["order-1"]}&limit=1`,
    );
    assert.deepEqual(ids(limited.body.effects), ["pay-1"]);
    assert.equal(limited.body.truncated, true);
    assert.deepEqual(ids(limited.body.correlation!.events), ["pay-1"]);
    assert.equal(limited.body.correlation!.more, true);
    const lost = await get<Lineage>(`${server.url}/events/lineage?source=%2Fx&id=lost-1`);
    assert.deepEqual(lost.body.missing, [{ id: "ghost", neededBy: positions["lost-1"] }]);
    assert.deepEqual(lost.body.causes, []);
    const noise = await get<Lineage>(`${server.url}/events/lineage?position=${positions["noise-1"]}`);
    assert.equal(noise.body.correlation, null);
  });

  it("refuses bad queries: neither or both ways to name the event, unknown events, bad depth", async () => {
    for (const [query, code, status] of [
      ["", "query-invalid", 400],
      [`position=1&source=%2Fshop&id=order-1`, "query-invalid", 400],
      ["source=%2Fshop", "query-invalid", 400],
      ["position=0", "query-invalid", 400],
      ["position=1&depth=0", "query-invalid", 400],
      ["position=1&limit=1001", "query-invalid", 400],
      ["position=999", "event-not-found", 404],
      ["source=%2Fshop&id=nobody", "event-not-found", 404],
    ] as const) {
      const res = await get<Problem>(`${server.url}/events/lineage?${query}`);
      assert.deepEqual([res.status, res.body.code], [status, code], query);
    }
  });

  it("pages a correlation in position order (GET /correlations/{id})", async () => {
    const first = await get<{ events: Entry[]; next: number }>(`${server.url}/correlations/order-1?limit=2`);
    assert.equal(first.status, 200);
    assert.deepEqual(ids(first.body.events), ["pay-1", "mail-1"]);
    assert.equal(first.body.next, positions["mail-1"]);
    const rest = await get<{ events: Entry[]; next: number }>(
      `${server.url}/correlations/order-1?after=${first.body.next}&limit=2`,
    );
    assert.deepEqual(ids(rest.body.events), ["ship-1"]);
    const end = await get<{ events: Entry[]; next: number }>(
      `${server.url}/correlations/order-1?after=${rest.body.next}`,
    );
    assert.deepEqual([end.body.events, end.body.next], [[], rest.body.next]);
    const none = await get<{ events: Entry[] }>(`${server.url}/correlations/nobody`);
    assert.deepEqual([none.status, none.body.events], [200, []]);
    const bad = await get<Problem>(`${server.url}/correlations/order-1?limit=0`);
    assert.equal(bad.body.code, "query-invalid");
  });

  it("finds a reply a push sink answered as an effect of the delivered event", async () => {
    const replying = await startSink((request: ReceivedRequest, res: ServerResponse) => {
      const id = String(request.headers["ce-id"]);
      res.writeHead(200, {
        "ce-specversion": "1.0",
        "ce-id": `reply-to-${id}`,
        "ce-source": "/replier",
        "ce-type": "reply",
      });
      res.end();
    });
    try {
      await api(server.url, "POST", "/subscriptions", { id: "replier", sink: replying.url, types: ["ask"] });
      const sent = await post(
        `${server.url}/events`,
        ...structured({ id: "ask-1", source: "/asker", type: "ask" }),
      );
      assert.equal(sent.status, 200);
      const lineage = await waitFor(async () => {
        const res = await get<Lineage>(`${server.url}/events/lineage?source=%2Fasker&id=ask-1`);
        return res.body.effects.length > 0 ? res.body : undefined;
      });
      assert.deepEqual(ids(lineage.effects), ["reply-to-ask-1"]);
      assert.equal(lineage.correlation?.id, "ask-1");
    } finally {
      await api(server.url, "DELETE", "/subscriptions/replier");
      await replying.close();
    }
  });
});

describe("subscription stats, the delivery ledger and dead-letter filters", () => {
  let server: HeraldServer;
  const sinks: Sink[] = [];
  before(async () => {
    server = await start({ subscriptions: { stalledAfter: 1000, deliveryLedger: 3 } });
  });
  after(async () => {
    await server.close();
    await Promise.all(sinks.map((s) => s.close()));
  });

  it("reports lag in seconds, a delivery rate and the stalled flag; lists every subscription's stats", async () => {
    await api(server.url, "POST", "/subscriptions", { id: "idle", types: ["stat.thing"] });
    await post(
      `${server.url}/events`,
      ...batch(
        [1, 2, 3].map((n) => ({ id: `s-${n}`, source: "/stats", subject: `s-${n}`, type: "stat.thing" })),
      ),
    );
    const stored = Date.now();
    const before = (await api(server.url, "GET", "/subscriptions/idle/stats")).body as Record<
      string,
      unknown
    >;
    assert.equal(before.lag, 3);
    assert.equal(typeof before.lagSeconds, "number");
    assert.ok((before.lagSeconds as number) >= 0);
    assert.equal(before.deliveryRate, 0);
    assert.equal(before.lastProgressAt, null);
    // Nothing is pulled: past stalledAfter (1 s) it is stalled, and lagSeconds is at least the time
    // since the events were stored (they were stored before the POST answered).
    const stalled = await waitFor(
      async () => {
        const asked = Date.now();
        const stats = (await api(server.url, "GET", "/subscriptions/idle/stats")).body as Record<
          string,
          unknown
        >;
        return stats.stalled === true ? { stats, asked } : undefined;
      },
      15_000,
      "stalled",
    );
    const lagSeconds = stalled.stats.lagSeconds as number;
    assert.ok(lagSeconds >= (stalled.asked - stored) / 1000, `lagSeconds ${lagSeconds}`);
    assert.ok(lagSeconds > (before.lagSeconds as number));
    const pulled = (await api(server.url, "POST", "/subscriptions/idle/pull", { max: 10 })).body as {
      messages: Array<{ ackId: string }>;
    };
    assert.equal(pulled.messages.length, 3);
    await api(server.url, "POST", "/subscriptions/idle/ack", { ackIds: pulled.messages.map((m) => m.ackId) });
    const done = (await api(server.url, "GET", "/subscriptions/idle/stats")).body as Record<string, unknown>;
    assert.deepEqual([done.lag, done.lagSeconds, done.stalled], [0, 0, false]);
    assert.ok((done.deliveryRate as number) > 0);
    assert.equal(typeof done.lastProgressAt, "string");
    await api(server.url, "POST", "/subscriptions", { id: "another", types: ["nothing"] });
    const all = await get<{ subscriptions: Array<Record<string, unknown>> }>(
      `${server.url}/stats/subscriptions`,
    );
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.body.subscriptions.map((s) => s.id),
      ["another", "idle"],
    );
    assert.equal(all.body.subscriptions[1]!.delivered, 3);
  });

  it("keeps each push attempt with status, latency and error, bounded per subscription", async () => {
    const flaky = await startSink((_request, res, index) => {
      res.writeHead(index === 0 ? 503 : 204);
      res.end();
    });
    sinks.push(flaky);
    await api(server.url, "POST", "/subscriptions", {
      id: "flaky",
      sink: flaky.url,
      types: ["ledger.thing"],
      config: { backoff: { baseMs: 1, capMs: 5 } },
    });
    const sent = await post<{ results: Array<{ position: number }> }>(
      `${server.url}/events`,
      ...structured({ id: "l-1", source: "/ledger", type: "ledger.thing" }),
    );
    const position = sent.body.results[0]!.position;
    const ledger = await waitFor(async () => {
      const res = await api(server.url, "GET", "/subscriptions/flaky/deliveries");
      const body = res.body as { deliveries: Array<Record<string, unknown>>; capacity: number };
      return body.deliveries.length >= 2 ? body : undefined;
    });
    assert.equal(ledger.capacity, 3);
    const [acked, failed] = ledger.deliveries;
    assert.deepEqual(
      [acked!.outcome, acked!.attempt, acked!.status, acked!.eventId, acked!.source, acked!.position],
      ["acked", 2, 204, "l-1", "/ledger", position],
    );
    assert.equal(acked!.error, undefined);
    assert.deepEqual(
      [failed!.outcome, failed!.attempt, failed!.status, failed!.error],
      ["retry", 1, 503, "sink answered 503"],
    );
    assert.equal(typeof failed!.latencyMs, "number");
    assert.ok(!Number.isNaN(Date.parse(String(failed!.at))));
    // Two more events: the ring keeps the newest 3 attempts only.
    await post(
      `${server.url}/events`,
      ...batch([2, 3].map((n) => ({ id: `l-${n}`, source: "/ledger", type: "ledger.thing" }))),
    );
    const later = await waitFor(async () => {
      const body = (await api(server.url, "GET", "/subscriptions/flaky/deliveries")).body as {
        deliveries: Array<Record<string, unknown>>;
      };
      return body.deliveries.some((d) => d.eventId === "l-3") &&
        body.deliveries.some((d) => d.eventId === "l-2")
        ? body
        : undefined;
    });
    assert.equal(later.deliveries.length, 3);
    assert.ok(!later.deliveries.some((d) => d.outcome === "retry"), "the oldest attempt was dropped");
    const one = (await api(server.url, "GET", `/subscriptions/flaky/deliveries?position=${position}`))
      .body as {
      deliveries: Array<Record<string, unknown>>;
    };
    assert.deepEqual(
      one.deliveries.map((d) => d.outcome),
      ["acked"],
    );
    const bad = await api(server.url, "GET", "/subscriptions/flaky/deliveries?limit=0");
    assert.equal((bad.body as Problem).code, "query-invalid");
    const missing = await api(server.url, "GET", "/subscriptions/nobody/deliveries");
    assert.equal((missing.body as Problem).code, "subscription-not-found");
  });

  it("records pull nacks and lease timeouts in the ledger", async () => {
    await api(server.url, "POST", "/subscriptions", {
      id: "puller",
      types: ["pull.thing"],
      config: { ackTimeoutMs: 50, backoff: { baseMs: 1, capMs: 1 } },
    });
    await post(`${server.url}/events`, ...structured({ id: "p-1", source: "/pull", type: "pull.thing" }));
    const first = (await api(server.url, "POST", "/subscriptions/puller/pull", { max: 1, waitMs: 5000 }))
      .body as {
      messages: Array<{ ackId: string }>;
    };
    await api(server.url, "POST", "/subscriptions/puller/nack", { ackIds: [first.messages[0]!.ackId] });
    // Pull again and let the lease run out.
    await api(server.url, "POST", "/subscriptions/puller/pull", { max: 1, waitMs: 5000 });
    const ledger = await waitFor(async () => {
      const body = (await api(server.url, "GET", "/subscriptions/puller/deliveries")).body as {
        deliveries: Array<Record<string, unknown>>;
      };
      return body.deliveries.some((d) => d.outcome === "timeout") ? body : undefined;
    });
    assert.deepEqual(
      ledger.deliveries.map((d) => [d.outcome, d.attempt]),
      [
        ["timeout", 2],
        ["nacked", 1],
      ],
    );
    assert.equal(ledger.deliveries[1]!.error, "negatively acknowledged");
  });

  it("filters dead letters by reason and by CESQL over the original event", async () => {
    const rejecting = await startSink((_request, res) => {
      res.writeHead(400);
      res.end();
    });
    sinks.push(rejecting);
    await api(server.url, "POST", "/subscriptions", {
      id: "dl",
      sink: rejecting.url,
      types: ["dl.a", "dl.b"],
    });
    await post(
      `${server.url}/events`,
      ...batch([
        { id: "d-1", source: "/dl", type: "dl.a" },
        { id: "d-2", source: "/dl", type: "dl.b" },
      ]),
    );
    await waitFor(async () => {
      const stats = (await api(server.url, "GET", "/subscriptions/dl/stats")).body as Record<string, number>;
      return stats.deadLettered === 2 ? true : undefined;
    });
    const list = async (query: string) =>
      (
        (await api(server.url, "GET", `/subscriptions/dl/dead-letters${query}`)).body as {
          deadLetters: Array<{ reason: string; event: { id: string } }>;
        }
      ).deadLetters.map((d) => d.event.id);
    assert.deepEqual(await list(""), ["d-1", "d-2"]);
    assert.deepEqual(await list("?reason=rejected"), ["d-1", "d-2"]);
    assert.deepEqual(await list("?reason=max-deliveries"), []);
    assert.deepEqual(await list(`?filter=${encodeURIComponent("type = 'dl.b'")}`), ["d-2"]);
    const rejected = (await api(server.url, "GET", "/subscriptions/dl/deliveries")).body as {
      deliveries: Array<Record<string, unknown>>;
    };
    assert.deepEqual(
      rejected.deliveries.map((d) => [d.outcome, d.status]),
      [
        ["rejected", 400],
        ["rejected", 400],
      ],
    );
    const badReason = await api(server.url, "GET", "/subscriptions/dl/dead-letters?reason=other");
    assert.equal((badReason.body as Problem).code, "query-invalid");
    const badFilter = await api(server.url, "GET", "/subscriptions/dl/dead-letters?filter=type%20%3D");
    assert.equal((badFilter.body as Problem).code, "filter-invalid");
  });
});

describe("health series and the filter error position", () => {
  let server: HeraldServer;
  before(async () => {
    server = await start();
  });
  after(() => server.close());

  it("answers ingest and delivery counts and latency per 5 s bucket, and what the server is", async () => {
    await post(
      `${server.url}/events`,
      ...batch([1, 2, 3, 4, 5].map((n) => ({ id: `h-${n}`, source: "/health", type: "health.thing" }))),
    );
    const res = await get<{
      server: Record<string, unknown>;
      intervalMs: number;
      points: Array<Record<string, number | null>>;
    }>(`${server.url}/stats/series?minutes=1`);
    assert.equal(res.status, 200);
    assert.equal(res.body.intervalMs, 5000);
    assert.equal(res.body.points.length, 12);
    assert.deepEqual(
      [res.body.server.storage, res.body.server.version, res.body.server.head],
      ["memory", server.version, 5],
    );
    const ts = res.body.points.map((p) => p.t as number);
    assert.deepEqual(
      ts,
      [...ts].sort((a, b) => a - b),
    );
    const ingested = res.body.points.reduce((sum, p) => sum + (p.ingested as number), 0);
    assert.equal(ingested, 5);
    const busy = res.body.points.find((p) => (p.ingested as number) > 0)!;
    assert.ok((busy.ingestP50Ms as number) > 0);
    assert.ok((busy.ingestP99Ms as number) >= (busy.ingestP50Ms as number));
    assert.equal(busy.ingestRate, (busy.ingested as number) / 5);
    const quiet = res.body.points.find((p) => p.ingested === 0 && p.delivered === 0);
    if (quiet !== undefined) assert.equal(quiet.ingestP50Ms, null);
    assert.equal((await get<Problem>(`${server.url}/stats/series?minutes=61`)).body.code, "query-invalid");
  });

  it("tells where a CESQL filter fails to parse", async () => {
    const res = await get<Problem>(`${server.url}/events?filter=${encodeURIComponent("type = 'a' AND AND")}`);
    assert.equal(res.status, 400);
    assert.equal(res.body.code, "filter-invalid");
    assert.equal(typeof res.body.position, "number");
    assert.ok((res.body.position as number) >= 11, `position ${res.body.position}`);
  });
});

describe("scopes of the console's endpoints", () => {
  const KEYS: ApiKeyConfig[] = [
    { key: "consumer-00001", scopes: ["consume"] },
    { key: "administrator1", scopes: ["admin"] },
  ];
  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  let server: HeraldServer;
  before(async () => {
    server = await start({ apiKeys: KEYS });
    const create = await fetch(`${server.url}/subscriptions`, {
      method: "POST",
      headers: { ...as("administrator1"), "content-type": "application/json" },
      body: JSON.stringify({ id: "guarded", types: ["g"] }),
    });
    assert.equal(create.status, 201);
  });
  after(() => server.close());

  it("lets a consume key read lineage, correlations and stats, and only admin operate", async () => {
    for (const path of [
      "/correlations/x",
      "/stats/series",
      "/stats/subscriptions",
      "/subscriptions/guarded/stats",
    ]) {
      assert.equal(
        (await fetch(`${server.url}${path}`, { headers: as("consumer-00001") })).status,
        200,
        path,
      );
      assert.equal((await fetch(`${server.url}${path}`)).status, 401, path);
    }
    const lineage = await fetch(`${server.url}/events/lineage?position=1`, { headers: as("consumer-00001") });
    assert.equal(lineage.status, 404, "allowed, and there is no event");
    const json = { "content-type": "application/json" };
    const refused: Array<[string, string, unknown]> = [
      ["GET", "/subscriptions/guarded/deliveries", undefined],
      ["GET", "/subscriptions/guarded/dead-letters", undefined],
      ["POST", "/subscriptions/guarded/dead-letters/redrive", { dryRun: true }],
      ["POST", "/subscriptions/guarded/reset", { to: "beginning", dryRun: true }],
      ["PUT", "/subscriptions/guarded", { types: ["h"] }],
      ["DELETE", "/subscriptions/guarded", undefined],
    ];
    for (const [method, path, body] of refused) {
      const init = (key: string): RequestInit => ({
        method,
        headers: { ...as(key), ...(body === undefined ? {} : json) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const consumer = await fetch(`${server.url}${path}`, init("consumer-00001"));
      const problem = (await consumer.json()) as Problem;
      assert.deepEqual(
        [consumer.status, problem.code, problem.requiredScope],
        [403, "forbidden", "admin"],
        path,
      );
      if (method !== "DELETE" && method !== "PUT") {
        const admin = await fetch(`${server.url}${path}`, init("administrator1"));
        assert.equal(admin.status, 200, `${method} ${path} as admin`);
        await admin.arrayBuffer();
      }
    }
    const gone = await fetch(`${server.url}/subscriptions/guarded`, {
      method: "DELETE",
      headers: as("administrator1"),
    });
    assert.equal(gone.status, 200);
  });
});
