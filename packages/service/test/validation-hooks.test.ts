// Validation-error hooks: per event (`onInvalid` on the definition) and per source (AppOptions.onInvalid),
// the event's own winning. HTTP and WebSocket on a real server; asynchronous sources on the real Redis Streams (the
// transport contract), where ack / nack / dead-letter decide what becomes of an invalid event.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import type { DeadLetterData } from "@herald/protocol";
import { connectRedisTransport } from "@herald/transport-redis";
import { Type } from "@sinclair/typebox";
import WebSocket from "ws";
import { createApp, defineEventSource } from "../src/index.js";
import { deferred, quietLogger } from "./support.js";

const Order = Type.Object({ sku: Type.String({ minLength: 1 }), qty: Type.Integer({ minimum: 1 }) });

describe("validation-error hooks: HTTP", () => {
  it("the event's hook answers; else the source's; a hook answering undefined keeps the default 400", async () => {
    const seen: string[][] = [];
    const app = createApp({
      logger: quietLogger(),
      onInvalid: {
        http: (errors, ctx) => {
          seen.push(errors.map((e) => e.field));
          return ctx.key === "http.post./quiet"
            ? undefined
            : { status: 422, body: { source: "app", errors } };
        },
      },
      definitions: [
        defineEventSource({
          trigger: "http.post./own",
          input: { body: Order },
          onInvalid: (errors) => ({
            status: 418,
            body: { own: errors.length },
            headers: { "x-hook": "event" },
          }),
          handler: () => ({ status: 200, body: {} }),
        }),
        defineEventSource({
          trigger: "http.post./shared",
          input: { body: Order },
          handler: () => ({ status: 200 }),
        }),
        defineEventSource({
          trigger: "http.post./quiet",
          input: { body: Order },
          handler: () => ({ status: 200 }),
        }),
      ],
    });
    await app.start();
    try {
      const post = (path: string, body: unknown) =>
        fetch(`${app.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const own = await post("/own", { sku: "", qty: 0 });
      assert.equal(own.status, 418);
      assert.equal(own.headers.get("x-hook"), "event");
      assert.deepEqual(await own.json(), { own: 2 });
      const shared = await post("/shared", { qty: 1 });
      assert.equal(shared.status, 422);
      assert.deepEqual(await shared.json(), {
        source: "app",
        errors: [{ field: "body/sku", reason: "is required" }],
      });
      const quiet = await post("/quiet", { sku: "a", qty: 0 });
      assert.equal(quiet.status, 400);
      assert.equal(((await quiet.json()) as { code: string }).code, "input-invalid");
      assert.equal(
        (await post("/shared", { sku: "a", qty: 1 })).status,
        200,
        "valid input never meets a hook",
      );
      assert.deepEqual(
        seen,
        [["body/sku"], ["body/qty"]],
        "the source hook saw only what the event did not take",
      );
      assert.equal(app.outcomes.get("http.post./own", "invalid"), 1);
    } finally {
      await app.stop();
    }
  });
});

const redisUrl = process.env["HERALD_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379";
const redis = connectRedisTransport({ url: redisUrl });
const redisProblem = await redis
  .publish(`probe-${randomUUID()}`, new CloudEvent({ id: "p", source: "/probe", type: "probe" }))
  .then(
    () => undefined,
    (error: Error) => error.message,
  );
after(() => redis.close());
if (redisProblem !== undefined && process.env["CI"] === "true")
  throw new Error(`Redis is required under CI=true and is unreachable: ${redisProblem}`);

describe(
  "validation-error hooks: asynchronous sources (Redis Streams)",
  redisProblem === undefined ? {} : { skip: `Redis unreachable (${redisProblem})` },
  () => {
    it("ack drops on purpose, nack redelivers, dead-letter (the default) keeps the errors", async () => {
      const topic = `hooks-${randomUUID().slice(0, 8)}`;
      const key = `redis.${topic}.hooks` as const;
      const decisions: string[] = [];
      const handledValid = deferred();
      const app = createApp({
        logger: quietLogger(),
        transports: { redis },
        definitions: [
          defineEventSource({
            trigger: key,
            types: ["order.placed"],
            data: Order,
            maxDeliveries: 5,
            onInvalid: (event, issues) => {
              const sku = (event.data as { sku?: string }).sku;
              const attempt = decisions.filter((d) => d.startsWith(`${sku}:`)).length + 1;
              // "drop": ack; "later": nack once, then dead-letter; anything else: dead-letter.
              const decision =
                sku === "drop" ? "ack" : sku === "later" && attempt === 1 ? "nack" : "dead-letter";
              decisions.push(`${sku}:${decision}:${issues.map((i) => i.path).join(",")}`);
              return decision;
            },
            handler: (event) => {
              if ((event.data as { sku: string }).sku === "valid") handledValid.resolve();
            },
          }),
        ],
      });
      await app.start();
      try {
        const send = (data: unknown) =>
          redis.publish(
            topic,
            new CloudEvent({ id: randomUUID(), source: "/shop", type: "order.placed", data }),
          );
        await send({ sku: "drop", qty: 0 });
        await send({ sku: "later", qty: 0 });
        await send({ sku: "bad", qty: 0 });
        await send({ sku: "valid", qty: 1 });
        await handledValid.promise;
        const deadline = Date.now() + 20_000;
        let letters: CloudEvent[] = [];
        while (letters.length < 2 && Date.now() < deadline) {
          letters = await redis.deadLetters(topic);
          if (letters.length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const died = letters
          .map((l) => l.data as DeadLetterData)
          .map((d) => [(d.event.data as { sku: string }).sku, d.attempts, d.reason])
          .sort();
        assert.deepEqual(died, [
          ["bad", 1, "non-retryable"],
          ["later", 2, "non-retryable"],
        ]);
        assert.deepEqual(decisions.sort(), [
          "bad:dead-letter:/qty",
          "drop:ack:/qty",
          "later:dead-letter:/qty",
          "later:nack:/qty",
        ]);
        assert.equal(app.outcomes.get(key, "invalid"), 4);
        assert.equal(app.outcomes.get(key, "handled"), 1);
      } finally {
        await app.stop();
      }
    });
  },
);

describe("validation-error hooks: WebSocket", () => {
  it("the event's hook replies or closes; else the source's; undefined keeps the default problem", async () => {
    const seen: string[] = [];
    const app = createApp({
      logger: quietLogger(),
      onInvalid: {
        ws: (errors, ctx) => {
          seen.push(`${ctx.key} ${errors.map((e) => e.field).join(",")}`);
          return ctx.key === "ws./quiet" ? undefined : { data: { source: "app", errors } };
        },
      },
      definitions: [
        defineEventSource({
          trigger: "ws./own",
          input: { message: Order },
          onInvalid: (errors) =>
            errors.some((e) => e.field === "message/data/sku")
              ? { close: { code: 4400, reason: "bad order" } }
              : { data: { own: errors.length } },
          handler: (order) => ({ ok: order.sku }),
        }),
        defineEventSource({ trigger: "ws./shared", input: { message: Order }, handler: () => ({ ok: 1 }) }),
        defineEventSource({ trigger: "ws./quiet", input: { message: Order }, handler: () => ({ ok: 1 }) }),
      ],
    });
    await app.start();
    const sockets: WebSocket[] = [];
    try {
      const open = async (path: string) => {
        const socket = new WebSocket(`${app.url.replace("http", "ws")}${path}`);
        sockets.push(socket);
        await new Promise((resolve, reject) => {
          socket.once("open", resolve);
          socket.once("error", reject);
        });
        return socket;
      };
      const exchange = (socket: WebSocket, frame: unknown) =>
        new Promise<unknown>((resolve) => {
          socket.once("message", (raw) => resolve(JSON.parse(raw.toString())));
          socket.send(JSON.stringify(frame));
        });
      const own = await open("/own");
      assert.deepEqual(await exchange(own, { id: 1, data: { sku: "a", qty: 0 } }), {
        id: 1,
        data: { own: 1 },
      });
      assert.deepEqual(await exchange(own, { id: 2, data: { sku: "a", qty: 2 } }), {
        id: 2,
        data: { ok: "a" },
      });
      const closed = new Promise<[number, string]>((resolve) =>
        own.once("close", (code, reason) => resolve([code, reason.toString()])),
      );
      own.send(JSON.stringify({ id: 3, data: { sku: "", qty: 1 } }));
      assert.deepEqual(await closed, [4400, "bad order"]);

      const shared = await open("/shared");
      assert.deepEqual(await exchange(shared, { data: { qty: 1 } }), {
        data: { source: "app", errors: [{ field: "message/data/sku", reason: "is required" }] },
      });
      const quiet = await open("/quiet");
      const answer = (await exchange(quiet, { id: "q", data: { sku: "a" } })) as {
        id: string;
        problem: { code: string; errors: unknown[] };
      };
      assert.equal(answer.id, "q");
      assert.equal(answer.problem.code, "input-invalid");
      assert.deepEqual(answer.problem.errors, [{ field: "message/data/qty", reason: "is required" }]);
      assert.deepEqual(seen, ["ws./shared message/data/sku", "ws./quiet message/data/qty"]);
      assert.equal(app.outcomes.get("ws./own", "invalid"), 2);
      assert.equal(app.outcomes.get("ws./own", "handled"), 1);
      assert.equal(app.outcomes.get("ws./quiet", "invalid"), 1);
    } finally {
      for (const socket of sockets) socket.terminate();
      await app.stop();
    }
  });
});
