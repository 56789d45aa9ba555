import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { batch, get, type Problem, post, structured, withServer } from "./server-harness.js";

const limits = { maxBodyBytes: 2048, maxBatchLength: 3, maxAttributeBytes: 64, maxReadLimit: 5 };

describe("configurable request limits", () => {
  it("413 for a body over maxBodyBytes (structured and binary), log untouched", async () => {
    await withServer({ limits }, async (server) => {
      const big = await post<Problem>(
        `${server.url}/events`,
        ...structured({ id: "1", source: "/l", type: "t", data: "x".repeat(3000) }),
      );
      assert.equal(big.status, 413);
      assert.equal(big.body.code, "payload-too-large");
      assert.equal(big.headers.get("content-type"), "application/problem+json");
      assert.match(big.body.detail, /2048/);
      const binary = await post<Problem>(`${server.url}/events`, "y".repeat(5000), {
        "content-type": "text/plain",
        "ce-specversion": "1.0",
        "ce-id": "2",
        "ce-source": "/l",
        "ce-type": "t",
      });
      assert.equal(binary.status, 413);
      // Just under the limit is fine.
      const ok = await post(
        `${server.url}/events`,
        ...structured({ id: "3", source: "/l", type: "t", data: "x".repeat(1800) }),
      );
      assert.equal(ok.status, 200);
      assert.equal(await server.log.headPosition(), 1);
    });
  });

  it("413 for a body streamed without content-length", async () => {
    await withServer({ limits }, async (server) => {
      const chunks = [
        JSON.stringify({ specversion: "1.0", id: "c", source: "/l", type: "t", data: "z".repeat(4000) }),
      ];
      const body = new ReadableStream({
        start(controller) {
          for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
          controller.close();
        },
      });
      const response = await fetch(`${server.url}/events`, {
        method: "POST",
        body,
        headers: { "content-type": "application/cloudevents+json" },
        duplex: "half",
      } as RequestInit);
      assert.equal(response.status, 413);
      await response.text();
      assert.equal(await server.log.headPosition(), 0);
    });
  });

  it("413 for a batch longer than maxBatchLength", async () => {
    await withServer({ limits }, async (server) => {
      const events = Array.from({ length: 4 }, (_, i) => ({ id: `b${i}`, source: "/l", type: "t" }));
      const answer = await post<Problem>(`${server.url}/events`, ...batch(events));
      assert.equal(answer.status, 413);
      assert.equal(answer.body.code, "batch-too-large");
      assert.match(answer.body.detail, /4 events.*limit is 3/);
      assert.equal((await post(`${server.url}/events`, ...batch(events.slice(0, 3)))).status, 200);
      assert.equal(await server.log.headPosition(), 3);
    });
  });

  it("400 naming each attribute over maxAttributeBytes (data does not count)", async () => {
    await withServer({ limits }, async (server) => {
      const long = "s".repeat(65);
      const answer = await post<Problem>(
        `${server.url}/events`,
        ...batch([
          { id: "a1", source: "/l", type: "t", data: "d".repeat(500) },
          { id: "a2", source: "/l", type: "t", subject: long, myext: long },
        ]),
      );
      assert.equal(answer.status, 400);
      assert.equal(answer.body.code, "attribute-too-large");
      assert.deepEqual((answer.body.errors ?? []).map((e) => e.field).sort(), ["[1].myext", "[1].subject"]);
      // Multi-byte characters count in bytes: 22 × "é" (2 bytes) = 44 bytes is fine, 33 = 66 is not.
      assert.equal(
        (await post(`${server.url}/events`, ...structured({ id: "é".repeat(22), source: "/l", type: "t" })))
          .status,
        200,
      );
      const bytes = await post<Problem>(
        `${server.url}/events`,
        ...structured({ id: "é".repeat(33), source: "/l", type: "t" }),
      );
      assert.equal(bytes.status, 400);
      assert.equal(bytes.body.errors?.[0]?.field, "id");
      assert.equal(await server.log.headPosition(), 1);
    });
  });

  it("400 for a read limit over maxReadLimit", async () => {
    await withServer({ limits }, async (server) => {
      assert.equal((await get(`${server.url}/events?limit=5`)).status, 200);
      const answer = await get<Problem>(`${server.url}/events?limit=6`);
      assert.equal(answer.status, 400);
      assert.equal(answer.body.code, "query-invalid");
      assert.equal(answer.body.errors?.[0]?.field, "limit");
    });
  });

  it("431 for oversized headers (node's parser limit), server keeps serving", async () => {
    await withServer({ limits }, async (server) => {
      const response = await fetch(`${server.url}/events`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "ce-specversion": "1.0",
          "ce-huge": "h".repeat(20_000),
        },
        body: "{}",
      });
      assert.equal(response.status, 431);
      await response.text();
      assert.equal((await get(`${server.url}/healthz`)).status, 200);
      assert.equal(await server.log.headPosition(), 0);
    });
  });

  it("keeps serving after refusals on the same keep-alive connection", async () => {
    await withServer({ limits }, async (server) => {
      for (let i = 0; i < 5; i++) {
        const big = await post(
          `${server.url}/events`,
          ...structured({ id: `x${i}`, source: "/l", type: "t", data: "x".repeat(3000) }),
        );
        assert.equal(big.status, 413);
        const ok = await post(
          `${server.url}/events`,
          ...structured({ id: `y${i}`, source: "/l", type: "t" }),
        );
        assert.equal(ok.status, 200);
      }
      assert.equal(await server.log.headPosition(), 5);
    });
  });
});
