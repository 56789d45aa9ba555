import assert from "node:assert/strict";
import { test } from "node:test";
import { CesqlError, CloudEvent } from "@herald/cloudevents";
import {
  defineEvent,
  type DeadLetter,
  EventDataValidationError,
  NonRetryableError,
  Router,
} from "@herald/sdk";
import { Type } from "@sinclair/typebox";
import { ctxFor, event, unitFor } from "./support/events.js";

const Greeted = defineEvent({
  type: "greeting.sent",
  version: 2,
  source: "/greeter",
  schema: Type.Object({ name: Type.String(), loud: Type.Boolean() }),
  upcasters: { 1: (d) => ({ name: (d as { who: string }).who, loud: false }) },
});

test("routes by type, typed definition and predicate; the first match wins", async () => {
  const seen: string[] = [];
  const router = new Router({ defaults: false })
    .on("a.happened", (e) => void seen.push(`type:${e.id}`))
    .on(Greeted, (e) => void seen.push(`typed:${e.data.name}:${e.data.loud}`))
    .when(
      (e) => e.subject === "special",
      (e) => void seen.push(`predicate:${e.id}`),
    )
    .when(
      () => true,
      (e) => void seen.push(`fallback:${e.type}`),
    );
  await router.handle(event({ type: "a.happened", id: "1", subject: "special" }), ctxFor(event()));
  await router.handle(event({ type: "b.happened", id: "2", subject: "special" }), ctxFor(event()));
  await router.handle(
    new CloudEvent({ source: "/old", type: "greeting.sent", data: { who: "Ada" } }),
    ctxFor(event()),
  );
  await router.handle(event({ type: "c.happened" }), ctxFor(event()));
  assert.deepEqual(seen, ["type:1", "predicate:2", "typed:Ada:false", "fallback:c.happened"]);
  assert.deepEqual(router.routes(), ["type a.happened", "type greeting.sent v2", "predicate", "predicate"]);
});

test("CESQL filters route by expression and fail fast on a syntax error", async () => {
  const seen: string[] = [];
  const router = new Router({ defaults: false })
    .when("type LIKE 'order.%' AND EXISTS priority AND priority > 5", (e) => void seen.push(`urgent:${e.id}`))
    .when("type LIKE 'order.%'", (e) => void seen.push(`order:${e.id}`));
  for (const e of [
    event({ id: "1", type: "order.placed", priority: 9 }),
    event({ id: "2", type: "order.placed", priority: 1 }),
    event({ id: "3", type: "order.placed" }),
    event({ id: "4", type: "payment.received", priority: 9 }),
  ]) {
    await router.handle(e, ctxFor(e));
  }
  assert.deepEqual(seen, ["urgent:1", "order:2", "order:3"]);
  assert.throws(() => router.when("type = ", () => {}), CesqlError);
});

test("unmatched events are ignored by default, or rejected as non-retryable", async () => {
  const e = event({ type: "nobody.cares" });
  assert.equal(await new Router({ defaults: false }).handle(e, ctxFor(e)), undefined);
  await assert.rejects(
    new Router({ defaults: false, unmatched: "reject" }).handle(e, ctxFor(e)),
    NonRetryableError,
  );
});

test("typed routes reject invalid data as non-retryable, seen by the dead-letter middleware", async () => {
  const letters: DeadLetter[] = [];
  let called = false;
  const router = new Router({ deadLetter: (l) => void letters.push(l) }).on(Greeted, () => {
    called = true;
  });
  const bad = new CloudEvent({ source: "/s", type: "greeting.sent", dataversion: 2, data: { name: 42 } });
  const unit = unitFor(bad);
  assert.equal(await router.handle(bad, unit.context), undefined);
  assert.equal(called, false);
  assert.ok(letters[0]?.error instanceof EventDataValidationError);
});

test("the default stack retries in process, dedupes redeliveries and stamps correlation", async () => {
  let calls = 0;
  const router = new Router({ retry: { attempts: 3, baseMs: 1, capMs: 1 } }).on("order.placed", (_e, ctx) => {
    calls++;
    if (calls === 1) throw new Error("transient");
    ctx.emit({ source: "/billing", type: "invoice.created" });
  });
  const placed = event({ type: "order.placed", correlationid: "c-7" });
  const unit = unitFor(placed);
  await router.handle(placed, unit.context);
  await unit.commit();
  assert.equal(calls, 2, "retried once in process");
  assert.equal(unit.outbox.length, 1);
  assert.equal(unit.outbox[0]!["causationid"], placed.id);
  assert.equal(unit.outbox[0]!["correlationid"], "c-7");

  const redelivery = unitFor(placed, 2);
  await router.handle(placed, redelivery.context);
  assert.equal(calls, 2, "the redelivery was deduplicated by the inbox");
  assert.equal(redelivery.outbox.length, 0);
});

test("middleware added with use() and per route runs inside the defaults", async () => {
  const order: string[] = [];
  const router = new Router({ defaults: false })
    .use(async (_e, _c, next) => {
      order.push("router");
      return next();
    })
    .on(
      "x",
      () => {
        order.push("handler");
      },
      async (_e, _c, next) => {
        order.push("route");
        return next();
      },
    );
  const e = event({ type: "x" });
  await router.handle(e, ctxFor(e));
  assert.deepEqual(order, ["router", "route", "handler"]);
});
