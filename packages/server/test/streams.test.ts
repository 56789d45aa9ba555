import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  get,
  type Page,
  type Problem,
  post,
  type ResultEntry,
  structured,
  withServer,
} from "./server-harness.js";

type Results = { results: ResultEntry[] };
let nextId = 0;
const event = (extra: Record<string, unknown> = {}) => ({
  id: `ev-${++nextId}`,
  source: "/orders",
  type: "t",
  ...extra,
});

function appendTo(url: string, stream: string, expected?: string, body = event()) {
  const [text, headers] = structured(body);
  return post<Results & Problem>(
    `${url}/streams/${encodeURIComponent(stream)}`,
    text,
    expected === undefined ? headers : { ...headers, "herald-expected-version": expected },
  );
}

describe("POST /streams/{stream}", () => {
  it("appends to the named stream whatever the event's subject", async () => {
    await withServer({}, async ({ url }) => {
      const answer = await appendTo(url, "order/7", undefined, event({ subject: "elsewhere" }));
      assert.equal(answer.status, 200);
      assert.equal(answer.body.results[0]!.stream, "order/7");
      assert.equal(answer.body.results[0]!.version, 0);
    });
  });

  it("honours Herald-Expected-Version: no-stream, exists, a number, any", async () => {
    await withServer({}, async (server) => {
      const { url } = server;
      assert.equal((await appendTo(url, "acct", "exists")).status, 409, "exists on a new stream");
      assert.equal((await appendTo(url, "acct", "no-stream")).body.results[0]!.version, 0);
      const conflict = await appendTo(url, "acct", "no-stream");
      assert.equal(conflict.status, 409);
      assert.equal(conflict.body.code, "stream-version-conflict");
      assert.equal(conflict.body.type, "https://herald.dev/problems/stream-version-conflict");
      assert.equal(conflict.headers.get("content-type"), "application/problem+json");
      assert.equal(conflict.body.actualVersion, 0);
      assert.equal((await appendTo(url, "acct", "exists")).body.results[0]!.version, 1);
      assert.equal((await appendTo(url, "acct", "1")).body.results[0]!.version, 2);
      const stale = await appendTo(url, "acct", "1");
      assert.equal(stale.status, 409);
      assert.equal(stale.body.actualVersion, 2);
      assert.equal(stale.body.expectedVersion, 1);
      assert.equal((await appendTo(url, "acct", "any")).body.results[0]!.version, 3);
      assert.equal(await server.log.headPosition(), 4, "conflicts stored nothing");
    });
  });

  it("lets exactly one of racing writers win each version", async () => {
    await withServer({}, async (server) => {
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => appendTo(server.url, "race", "no-stream")),
      );
      assert.equal(answers.filter((a) => a.status === 200).length, 1);
      assert.equal(answers.filter((a) => a.status === 409).length, 7);
      assert.equal(await server.log.headPosition(), 1);
    });
  });

  it("rejects a whole batch on conflict", async () => {
    await withServer({}, async (server) => {
      await appendTo(server.url, "b", "no-stream");
      const body = JSON.stringify([event(), event()].map((e) => ({ specversion: "1.0", ...e })));
      const answer = await post<Problem>(`${server.url}/streams/b`, body, {
        "content-type": "application/cloudevents-batch+json",
        "herald-expected-version": "5",
      });
      assert.equal(answer.status, 409);
      assert.equal(answer.body.actualVersion, 0);
      assert.equal(await server.log.headPosition(), 1);
    });
  });

  for (const bad of ["latest", "-1", "1.5", "", "0x1"]) {
    it(`400 for Herald-Expected-Version ${JSON.stringify(bad)}`, async () => {
      await withServer({}, async (server) => {
        const answer = await appendTo(server.url, "s", bad);
        assert.equal(answer.status, 400);
        assert.equal(answer.body.code, "expected-version-invalid");
        assert.equal(answer.body.errors?.[0]?.field, "Herald-Expected-Version");
        assert.equal(await server.log.headPosition(), 0);
      });
    });
  }

  it("409 for an append to a deleted stream, 404 for reading it", async () => {
    await withServer({}, async (server) => {
      await appendTo(server.url, "gone");
      await server.log.deleteStream("gone");
      const answer = await appendTo(server.url, "gone");
      assert.equal(answer.status, 409);
      assert.equal(answer.body.title, "Stream Deleted");
      assert.equal(answer.body.code, "stream-deleted");
      assert.equal(answer.body.stream, "gone");
      assert.equal((await get(`${server.url}/streams/gone`)).status, 404);
      assert.equal(await server.log.headPosition(), 1);
    });
  });

  it("400 for a system stream", async () => {
    await withServer({}, async (server) => {
      const answer = await appendTo(server.url, "$deadletter-x");
      assert.equal(answer.status, 400);
      assert.equal(answer.body.code, "system-stream-reserved");
      assert.equal(answer.body.errors?.[0]?.field, "stream");
      assert.equal(await server.log.headPosition(), 0);
    });
  });
});

describe("GET /streams/{stream}", () => {
  async function seed(url: string, stream: string, count: number) {
    for (let i = 0; i < count; i++) await appendTo(url, stream, undefined, event({ data: i }));
  }

  it("pages forwards without skipping or repeating", async () => {
    await withServer({}, async ({ url }) => {
      await seed(url, "fw", 10);
      await seed(url, "other", 2);
      const seen: number[] = [];
      let from = 0;
      for (let guard = 0; guard < 10; guard++) {
        const page = await get<Page>(`${url}/streams/fw?from=${from}&limit=3`);
        assert.equal(page.status, 200);
        if (page.body.events.length === 0) break;
        for (const e of page.body.events) {
          assert.equal(e.stream, "fw");
          seen.push(e.version);
          assert.equal(e.event.data, e.version);
        }
        from = page.body.next;
      }
      assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });
  });

  it("pages backwards from the newest", async () => {
    await withServer({}, async ({ url }) => {
      await seed(url, "bw", 5);
      const first = await get<Page>(`${url}/streams/bw?direction=backwards&limit=2`);
      assert.deepEqual(
        first.body.events.map((e) => e.version),
        [4, 3],
      );
      const second = await get<Page>(`${url}/streams/bw?direction=backwards&limit=2&from=${first.body.next}`);
      assert.deepEqual(
        second.body.events.map((e) => e.version),
        [2, 1],
      );
      const third = await get<Page>(`${url}/streams/bw?direction=backwards&limit=2&from=${second.body.next}`);
      assert.deepEqual(
        third.body.events.map((e) => e.version),
        [0],
      );
      assert.equal(third.body.next, -1);
      const done = await get<Page>(`${url}/streams/bw?direction=backwards&limit=2&from=-1`);
      assert.deepEqual(done.body.events, []);
    });
  });

  it("404 for an unknown stream, 400 for bad parameters", async () => {
    await withServer({}, async ({ url }) => {
      const missing = await get<Problem>(`${url}/streams/nope`);
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get("content-type"), "application/problem+json");
      await seed(url, "s", 1);
      for (const query of ["direction=sideways", "limit=0", "limit=abc", "from=-3", "limit=100000"]) {
        const answer = await get<Problem>(`${url}/streams/s?${query}`);
        assert.equal(answer.status, 400, query);
        assert.ok((answer.body.errors ?? []).length > 0, query);
      }
    });
  });
});
