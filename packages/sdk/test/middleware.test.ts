import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import {
  compose,
  concurrencyLimit,
  correlation,
  type DeadLetter,
  deadLetter,
  DuplicateInProgressError,
  HandlerPanicError,
  HandlerTimeoutError,
  idempotent,
  MemoryInbox,
  type Middleware,
  NonRetryableError,
  recover,
  RetryableError,
  retry,
  timeout,
} from "@herald/sdk";
import { ctxFor, deferred, event, unitFor } from "./support/events.js";

describe("compose", () => {
  test("runs middleware outermost first and lets one replace the event", async () => {
    const order: string[] = [];
    const tag =
      (name: string): Middleware =>
      async (_e, _c, next) => {
        order.push(`>${name}`);
        const r = await next();
        order.push(`<${name}`);
        return r;
      };
    const swap: Middleware = (e, _c, next) => next(e.cloneWith({ subject: "swapped" }));
    let seen = "";
    const run = compose([tag("a"), swap, tag("b")], (e) => {
      seen = e.subject ?? "";
      order.push("handler");
    });
    const e = event();
    await run(e, ctxFor(e));
    assert.deepEqual(order, [">a", ">b", "handler", "<b", "<a"]);
    assert.equal(seen, "swapped");
  });

  test("turns a synchronous throw into a rejection", async () => {
    const run = compose([], () => {
      throw new Error("sync");
    });
    const e = event();
    await assert.rejects(run(e, ctxFor(e)), /sync/);
  });
});

describe("retry", () => {
  test("retries retryable failures up to the attempt limit, then gives up with the last error", async () => {
    let calls = 0;
    const run = compose([retry({ attempts: 3, baseMs: 1, capMs: 2 })], () => {
      calls++;
      throw new Error(`fail ${calls}`);
    });
    const e = event();
    await assert.rejects(run(e, ctxFor(e)), /fail 3/);
    assert.equal(calls, 3);
  });

  test("succeeds when a later attempt does, and never retries NonRetryableError", async () => {
    let calls = 0;
    const flaky = compose([retry({ attempts: 5, baseMs: 1, capMs: 2 })], () => {
      if (++calls < 3) throw new Error("flaky");
    });
    const e = event();
    await flaky(e, ctxFor(e));
    assert.equal(calls, 3);

    let rejects = 0;
    const fatal = compose([retry({ attempts: 5, baseMs: 1 })], () => {
      rejects++;
      throw new NonRetryableError("bad input");
    });
    await assert.rejects(fatal(e, ctxFor(e)), NonRetryableError);
    assert.equal(rejects, 1);
  });

  test("waits the delay a RetryableError asks for", async () => {
    let calls = 0;
    const started = Date.now();
    const run = compose([retry({ attempts: 2, baseMs: 1 })], () => {
      if (++calls === 1) throw new RetryableError("later", { delayMs: 60 });
    });
    const e = event();
    await run(e, ctxFor(e));
    assert.ok(Date.now() - started >= 55, "waited for delayMs");
  });
});

describe("timeout", () => {
  test("rejects with HandlerTimeoutError and aborts the handler's signal", async () => {
    let aborted = false;
    const run = compose([timeout(30)], (_e, ctx) => {
      return new Promise<void>((resolve) => {
        ctx.signal.addEventListener("abort", () => {
          aborted = true;
          resolve();
        });
      });
    });
    const e = event();
    const err = await run(e, ctxFor(e)).catch((x: unknown) => x);
    assert.ok(err instanceof HandlerTimeoutError);
    assert.equal(err.timeoutMs, 30);
    assert.equal(aborted, true);
  });

  test("passes through results that come in time", async () => {
    const reply = event({ type: "reply" });
    const run = compose([timeout(1_000)], () => reply);
    const e = event();
    assert.equal(await run(e, ctxFor(e)), reply);
  });
});

describe("concurrencyLimit", () => {
  test("never runs more than the limit at once", async () => {
    let running = 0;
    let peak = 0;
    const run = compose([concurrencyLimit(2)], async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
    });
    await Promise.all(Array.from({ length: 8 }, () => event()).map((e) => run(e, ctxFor(e))));
    assert.equal(peak, 2);
  });

  test("refuses a nonsense limit", () => {
    assert.throws(() => concurrencyLimit(0), RangeError);
  });
});

describe("idempotent", () => {
  test("a redelivered event whose handling committed is skipped: the side effect happens once", async () => {
    const inbox = new MemoryInbox();
    let effects = 0;
    const run = compose([idempotent({ inbox })], () => {
      effects++;
    });
    const e = event();
    for (let attempt = 1; attempt <= 3; attempt++) {
      const unit = unitFor(e, attempt);
      await run(e, unit.context);
      await unit.commit();
    }
    assert.equal(effects, 1);
    // Same id from another source is another event.
    const other = event({ id: e.id, source: "/elsewhere" });
    const unit = unitFor(other);
    await run(other, unit.context);
    assert.equal(effects, 2);
  });

  test("a failed handling is released so the redelivery runs; a concurrent duplicate is retryable", async () => {
    const inbox = new MemoryInbox();
    let calls = 0;
    const gate = deferred();
    const run = compose([idempotent({ inbox })], async () => {
      calls++;
      if (calls === 1) throw new Error("boom");
      await gate.promise;
    });
    const e = event();
    const failed = unitFor(e);
    await assert.rejects(run(e, failed.context), /boom/);
    await failed.abort(new Error("boom"));

    const second = unitFor(e, 2);
    const running = run(e, second.context);
    await new Promise((r) => setImmediate(r));
    await assert.rejects(run(e, ctxFor(e, 3)), DuplicateInProgressError);
    gate.resolve();
    await running;
    await second.commit();
    assert.equal(calls, 2);
  });
});

describe("deadLetter", () => {
  test("hands non-retryable failures to the sink with the reason and acks", async () => {
    const letters: DeadLetter[] = [];
    const run = compose([deadLetter((l) => void letters.push(l))], () => {
      throw new NonRetryableError("order total negative");
    });
    const e = event();
    assert.equal(await run(e, ctxFor(e, 2)), undefined);
    assert.equal(letters.length, 1);
    assert.equal(letters[0]!.event, e);
    assert.equal(letters[0]!.reason, "non-retryable");
    assert.equal(letters[0]!.attempt, 2);
    assert.match(letters[0]!.error.message, /negative/);
  });

  test("lets retryable failures through until afterDeliveries, then dead-letters them", async () => {
    const letters: DeadLetter[] = [];
    const run = compose([deadLetter((l) => void letters.push(l), { afterDeliveries: 3 })], () => {
      throw new Error("db down");
    });
    const e = event();
    await assert.rejects(run(e, ctxFor(e, 2)), /db down/);
    assert.equal(letters.length, 0);
    await run(e, ctxFor(e, 3));
    assert.equal(letters[0]?.reason, "max-deliveries");
  });

  test("a failing sink keeps the original error, so the event is retried, not lost", async () => {
    const run = compose(
      [
        deadLetter(() => {
          throw new Error("sink down");
        }),
      ],
      () => {
        throw new NonRetryableError("bad");
      },
    );
    const e = event();
    await assert.rejects(run(e, ctxFor(e)), /sink down/);
  });
});

describe("recover", () => {
  test("turns thrown non-Errors into HandlerPanicError and reports every error", async () => {
    const seen: Error[] = [];
    const run = compose([recover({ onError: (err) => seen.push(err) })], () => {
      throw "a string";
    });
    const e = event();
    const err = await run(e, ctxFor(e)).catch((x: unknown) => x);
    assert.ok(err instanceof HandlerPanicError);
    assert.equal(err.thrown, "a string");
    assert.equal(seen[0], err);
  });
});

describe("correlation", () => {
  test("emitted events carry causationid = handled id and the conversation's correlationid", async () => {
    const run = compose([correlation()], (_e, ctx) => {
      ctx.emit({ source: "/orders", type: "order.confirmed" });
      ctx.emit(new CloudEvent({ source: "/orders", type: "order.audited" }));
      ctx.emit({ source: "/orders", type: "order.other", correlationid: "kept" });
    });
    const started = event();
    const unit = unitFor(started);
    await run(started, unit.context);
    assert.deepEqual(
      unit.outbox.map((o) => [o["causationid"], o["correlationid"]]),
      [
        [started.id, started.id],
        [started.id, started.id],
        [started.id, "kept"],
      ],
    );
    const continued = event({ correlationid: "conv-1" });
    const unit2 = unitFor(continued);
    await run(continued, unit2.context);
    assert.equal(unit2.outbox[0]!["correlationid"], "conv-1");
  });

  test("emitted events without an id get the same derived ids on every redelivery", async () => {
    const run = compose([], (_e, ctx) => {
      ctx.emit({ source: "/s", type: "a" });
      ctx.emit({ source: "/s", type: "b" });
    });
    const e = event();
    const first = unitFor(e);
    const again = unitFor(e, 2);
    await run(e, first.context);
    await run(e, again.context);
    assert.deepEqual(
      first.outbox.map((o) => o.id),
      again.outbox.map((o) => o.id),
    );
    assert.notEqual(first.outbox[0]!.id, first.outbox[1]!.id);
    assert.match(
      first.outbox[0]!.id,
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
