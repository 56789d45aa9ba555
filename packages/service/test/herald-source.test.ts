// Herald subscription sources on a real in-process `herald serve`: pull and push, with the one outcome
// model — handled events are acked, invalid, refused and unmatched ones dead-lettered (with the
// reason), retryable failures redelivered.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { defineEvent, HeraldClient, RetryableError } from "@herald/sdk";
import { type HeraldServer, startServer } from "@herald/server";
import { Type } from "@sinclair/typebox";
import { createApp, defineEventSource } from "../src/index.js";
import { quietLogger, waitFor } from "./support.js";

const OrderPlaced = defineEvent({
  type: "order.placed",
  schema: Type.Object({ sku: Type.String(), qty: Type.Integer({ minimum: 1 }) }),
  source: "/shop",
});

let server: HeraldServer;
let client: HeraldClient;
before(async () => {
  server = await startServer({
    port: 0,
    memory: true,
    logLevel: "silent",
    sinks: { allowPrivateNetworks: true },
    shutdownDrainMs: 1_000,
  });
  client = new HeraldClient({ url: server.url });
});
after(async () => {
  await client.close();
  await server.close();
});

const fast = { maxDeliveries: 3, backoffBaseMs: 10, backoffCapMs: 20, ackTimeoutMs: 5_000 };

for (const mode of ["pull", "push"] as const) {
  describe(`Herald subscription source (${mode})`, () => {
    it("acks handled events and dead-letters invalid, refused and unmatched ones with the reason", async () => {
      const id = `orders-${mode}-${Math.random().toString(36).slice(2, 8)}`;
      const stream = `orders-${id}`;
      const handled: { sku: string; attempt: number }[] = [];
      let flaky = 0;
      const logger = quietLogger();
      const app = await createApp({
        definitions: [
          defineEventSource({
            trigger: `herald.${id}`,
            event: OrderPlaced,
            mode,
            authorize: (event) => !event.source.startsWith("/intruder"),
            // Only this test's events (the tests of this file share the broker).
            subscription: {
              filters: [{ prefix: { type: "order." } }, { suffix: { source: `/${id}` } }],
              config: { ...fast, start: "beginning" },
            },
            handler: (event, ctx) => {
              if (event.data.sku === "flaky" && flaky++ === 0)
                throw new RetryableError("try again", { delayMs: 10 });
              handled.push({ sku: event.data.sku, attempt: ctx.attempt });
            },
          }),
        ],
        client,
        logger,
        transport: "poll",
      }).start();
      const key = `herald.${id}`;
      try {
        const send = async (init: Record<string, unknown>) => {
          const source = `${String(init["source"] ?? "/shop")}/${id}`;
          const result = await client.send({ type: "order.placed", ...init, source }, { stream });
          assert.ok(result.ok, JSON.stringify(result));
        };
        await send({ id: "ok-1", data: { sku: "a", qty: 1 } });
        await send({ id: "bad-1", data: { sku: "a", qty: 0 } });
        await send({ id: "intruder-1", source: "/intruder", data: { sku: "a", qty: 1 } });
        await send({ id: "other-1", type: "order.cancelled", data: {} });
        await send({ id: "flaky-1", data: { sku: "flaky", qty: 1 } });
        await waitFor(
          async () => {
            const page = await client.deadLetters(id);
            return page.deadLetters.length === 3 && handled.length === 2;
          },
          15_000,
          "two handled, three dead letters",
        );
        assert.deepEqual(handled.map((h) => h.sku).sort(), ["a", "flaky"]);
        const letters = (await client.deadLetters(id)).deadLetters;
        const byId = new Map(letters.map((l) => [l.event.id, l.lastError]));
        assert.deepEqual([...byId.keys()].sort(), ["bad-1", "intruder-1", "other-1"]);
        if (mode === "push") {
          // A push sink's 4xx: dead-lettered at once, the reason in the answer the broker recorded.
          for (const letter of letters) assert.equal(letter.reason, "rejected");
        }
        assert.equal(app.outcomes.get(key, "handled"), 2);
        assert.ok(app.outcomes.get(key, "invalid") >= 1);
        assert.ok(app.outcomes.get(key, "refused") >= 1);
        assert.ok(app.outcomes.get(key, "unmatched") >= 1);
        assert.ok(app.outcomes.get(key, "failed") >= 1);
        assert.ok(
          logger.entries.some(
            (e) => e.fields["outcome"] === "unmatched" && e.fields["type"] === "order.cancelled",
          ),
          "the unmatched event is logged",
        );
        await waitFor(
          async () => (await client.subscriptionStats(id)).lag === 0,
          10_000,
          "nothing left unacked",
        );
      } finally {
        await app.stop();
      }
    });
  });
}

describe("Herald subscription source with a dead-letter stream", () => {
  it("writes a non-retryable failure there with the reason and acks it at once", async () => {
    const id = `dls-${Math.random().toString(36).slice(2, 8)}`;
    const app = await createApp({
      definitions: [
        defineEventSource({
          trigger: `herald.${id}`,
          event: OrderPlaced,
          deadLetterStream: `deadletter-${id}`,
          subscription: {
            types: ["order.placed"],
            source: `/shop/${id}`,
            config: { ...fast, start: "beginning" },
          },
          handler: () => undefined,
        }),
      ],
      client,
      logger: quietLogger(),
      transport: "poll",
    }).start();
    try {
      const result = await client.send(
        { id: "bad", source: `/shop/${id}`, type: "order.placed", data: { sku: 1 } },
        { stream: `in-${id}` },
      );
      assert.ok(result.ok);
      await waitFor(
        async () => {
          try {
            return (await client.readStream(`deadletter-${id}`)).events.length === 1;
          } catch {
            return false;
          }
        },
        10_000,
        "the dead letter in the stream",
      );
      const letter = (await client.readStream(`deadletter-${id}`)).events[0]!.event.data as {
        reason: string;
        lastError: string;
        event: { id: string };
      };
      assert.equal(letter.reason, "non-retryable");
      assert.match(letter.lastError, /EventDataValidationError.*\/sku/);
      assert.equal(letter.event.id, "bad");
      // Acked at once: not redelivered up to maxDeliveries, no broker dead letter.
      await waitFor(async () => (await client.subscriptionStats(id)).lag === 0);
      assert.equal((await client.deadLetters(id)).deadLetters.length, 0);
    } finally {
      await app.stop();
    }
  });
});
