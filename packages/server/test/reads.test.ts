import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { batch, get, type Page, type Problem, post, structured, withServer } from "./server-harness.js";

async function publish(url: string, count: number, prefix: string, extra: Record<string, unknown> = {}) {
  const events = Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${i}`,
    source: "/reads",
    type: i % 2 === 0 ? "even" : "odd",
    subject: `s-${i % 5}`,
    data: { i },
    ...extra,
  }));
  const answer = await post(`${url}/events`, ...batch(events));
  assert.equal(answer.status, 200);
}

async function readAll(url: string, query: string, pageSize: number): Promise<Page["events"]> {
  const all: Page["events"] = [];
  let after = 0;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await get<Page>(`${url}/events?after=${after}&limit=${pageSize}${query}`);
    assert.equal(page.status, 200);
    all.push(...page.body.events);
    if (page.body.next === after) break;
    assert.ok(page.body.next > after, "next moves forward");
    after = page.body.next;
  }
  return all;
}

describe("GET /events", () => {
  it("pages the global log in order: no skip, no repeat, even while appends race the reader", async () => {
    await withServer({}, async ({ url }) => {
      await publish(url, 50, "a");
      let writing = true;
      const writers = (async () => {
        for (let round = 0; round < 10; round++) {
          await Promise.all(
            [0, 1, 2].map((w) =>
              post(`${url}/events`, ...structured({ id: `w${w}-${round}`, source: "/w", type: "t" })),
            ),
          );
        }
        writing = false;
      })();
      const seen: number[] = [];
      let after = 0;
      for (let guard = 0; guard < 2000 && seen.length < 80; guard++) {
        const page = await get<Page>(`${url}/events?after=${after}&limit=7`);
        for (const e of page.body.events) seen.push(e.position);
        after = page.body.next;
        if (page.body.events.length === 0 && !writing) break;
      }
      await writers;
      assert.deepEqual(
        seen,
        Array.from({ length: 80 }, (_, i) => i + 1),
      );
    });
  });

  it("answers the documented shape with the stored event JSON", async () => {
    await withServer({}, async ({ url }) => {
      const before = Date.now();
      await publish(url, 1, "shape");
      const page = await get<Page>(`${url}/events?limit=5`);
      const recordedAt = (page.body.events[0] as { recordedAt?: unknown } | undefined)?.recordedAt;
      assert.ok(typeof recordedAt === "number" && recordedAt >= before && recordedAt <= Date.now());
      assert.deepEqual(page.body, {
        events: [
          {
            position: 1,
            stream: "s-0",
            version: 0,
            recordedAt,
            event: {
              specversion: "1.0",
              id: "shape-0",
              source: "/reads",
              type: "even",
              subject: "s-0",
              data: { i: 0 },
            },
          },
        ],
        next: 1,
      });
      const empty = await get<Page>(`${url}/events?after=1`);
      assert.deepEqual(empty.body, { events: [], next: 1 });
    });
  });

  it("leaves out $ system streams unless ?system=true", async () => {
    await withServer({}, async (server) => {
      await publish(server.url, 2, "user");
      await server.log.append([new CloudEvent({ id: "dl", source: "/herald", type: "herald.deadletter" })], {
        stream: "$deadletter-sub",
      });
      await publish(server.url, 1, "later");
      const user = await readAll(server.url, "", 2);
      assert.deepEqual(
        user.map((e) => e.event.id),
        ["user-0", "user-1", "later-0"],
      );
      const all = await readAll(server.url, "&system=true", 2);
      assert.deepEqual(
        all.map((e) => e.stream),
        ["s-0", "s-1", "$deadletter-sub", "s-0"],
      );
    });
  });

  it("400 for bad after, limit or system", async () => {
    await withServer({}, async ({ url }) => {
      for (const query of ["after=-1", "after=x", "limit=0", "limit=1001", "limit=2.5", "system=maybe"]) {
        const answer = await get<Problem>(`${url}/events?${query}`);
        assert.equal(answer.status, 400, query);
        assert.equal(answer.headers.get("content-type"), "application/problem+json");
        assert.ok(answer.body.errors?.[0]?.field, query);
      }
    });
  });
});

describe("GET /events?filter= (CESQL)", () => {
  it("returns exactly the matching events, paged without skip or repeat", async () => {
    await withServer({}, async ({ url }) => {
      await publish(url, 40, "f");
      const filter = encodeURIComponent("(type = 'odd' AND EXISTS tenant) OR id = 'f-4'");
      // No event carries a tenant extension: only the OR side matches.
      const got = await readAll(url, `&filter=${filter}`, 3);
      const ids = got.map((e) => String(e.event.id));
      assert.equal(new Set(ids).size, ids.length, "no repeats");
      assert.deepEqual(ids, ["f-4"]);
      const odd = await readAll(
        url,
        `&filter=${encodeURIComponent("type = 'odd' AND subject IN ('s-1', 's-3')")}`,
        4,
      );
      const expected = Array.from({ length: 40 }, (_, i) => i).filter(
        (i) => i % 2 === 1 && (i % 5 === 1 || i % 5 === 3),
      );
      assert.deepEqual(
        odd.map((e) => e.event.id),
        expected.map((i) => `f-${i}`),
      );
    });
  });

  it("follows next across scan-limited pages until the end", async () => {
    await withServer({ limits: { maxReadScan: 10 } }, async ({ url }) => {
      await publish(url, 60, "scan");
      const page = await get<Page>(`${url}/events?limit=5&filter=${encodeURIComponent("id = 'scan-55'")}`);
      assert.equal(page.status, 200);
      assert.deepEqual(page.body.events, [], "the first scan window holds no match");
      assert.ok(
        page.body.next > 0 && page.body.next <= 10,
        `next ${page.body.next} resumes after the scanned window`,
      );
      const all = await readAll(url, `&filter=${encodeURIComponent("id = 'scan-55'")}`, 5);
      assert.deepEqual(
        all.map((e) => e.position),
        [56],
      );
    });
  });

  it("400 naming the filter when the expression does not parse", async () => {
    await withServer({}, async ({ url }) => {
      for (const bad of ["type = ", "x LIKE 123", "(((", "type = 'a' AND"]) {
        const answer = await get<Problem>(`${url}/events?filter=${encodeURIComponent(bad)}`);
        assert.equal(answer.status, 400, bad);
        assert.equal(answer.headers.get("content-type"), "application/problem+json");
        assert.equal(answer.body.errors?.[0]?.field, "filter", bad);
      }
    });
  });
});
