// The happy path, in both flows, with every service a real process: a customer orders at the kiosk,
// Payments authorizes, a bot shops stop by stop, the customer picks up, Payments captures. The order's
// correlation in herald serve holds the whole conversation, in order, each step caused by the one before.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import type { CloudEvent } from "@herald/cloudevents";
import type { Flow } from "@mallbots/contracts";
import { type MallbotsSystem, REPO_ROOT } from "../src/system.js";
import {
  BASKET,
  countTypes,
  dataOf,
  internal,
  kioskOf,
  Log,
  only,
  pickUpWhenReady,
  placeOrder,
  priceOf,
  startTestSystem,
  T,
  types,
  waitFor,
  waitForStatus,
} from "./support.js";

/** The chain of one order, in log order: [type, the type of the event that caused it (none: an HTTP call)]. */
const CHAIN: Record<Flow, readonly (readonly [string, string | null])[]> = {
  orchestrated: [
    [T.placed, null],
    [T.authorize, T.placed],
    [T.authorized, T.authorize],
    [T.approve, T.authorized],
    [T.paid, T.approve],
    [T.assign, T.paid],
    [T.taskCreated, T.assign],
    [T.shopped, null],
    [T.markReady, T.shopped],
    [T.ready, T.markReady],
    [T.hold, T.ready],
    [T.handedOver, null],
    [T.completePickup, T.handedOver],
    [T.pickedUp, T.completePickup],
    [T.capture, T.pickedUp],
    [T.captured, T.capture],
    [T.received, T.capture],
  ],
  choreography: [
    [T.placed, null],
    [T.authorized, T.placed],
    [T.paid, T.authorized],
    [T.taskCreated, T.paid],
    [T.shopped, null],
    [T.ready, T.shopped],
    [T.handedOver, null],
    [T.pickedUp, T.handedOver],
    [T.captured, T.pickedUp],
    [T.received, T.pickedUp],
  ],
};

for (const flow of ["orchestrated", "choreography"] as const) {
  describe(`the happy path (${flow})`, { timeout: 180_000 }, () => {
    let system: MallbotsSystem;
    before(async () => {
      system = await startTestSystem({ flow, bots: 2, botStepMs: 30 });
    });
    after(() => system?.close());

    it("an order is paid, shopped by a bot, picked up and captured; its correlation is the whole chain", async () => {
      const kiosk = kioskOf(system);
      const log = new Log(system.heraldUrl);

      const orderId = await placeOrder(kiosk, "ada");
      // The read model may lag the 201 by a few ms (Orders' projection follows its event store).
      const view = await waitForStatus(kiosk, orderId, ["placed", "paid", "ready", "picked-up"]);
      assert.equal(view.customerId, "ada");
      assert.equal(view.total, priceOf(BASKET));
      assert.deepEqual(
        view.items.map((item) => [item.productId, item.quantity]),
        BASKET.map((item) => [item.productId, item.quantity]),
      );

      const done = await pickUpWhenReady(kiosk, orderId);
      assert.equal(done.status, "picked-up");
      assert.ok(done.paymentId, "the picked-up order names its payment");

      // Payments captured it: the notification has the id only; the details are a query.
      const received = await waitFor(`payment-received of ${done.paymentId}`, async () =>
        (await log.ofType(T.received)).find((e) => dataOf(e)["paymentId"] === done.paymentId),
      );
      assert.deepEqual(received.data, { paymentId: done.paymentId });
      const payment = await internal<Record<string, unknown>>(
        system,
        "payments",
        `/payments/${done.paymentId}`,
      );
      assert.equal(payment["status"], "captured");
      assert.equal(payment["orderId"], orderId);
      assert.equal(payment["amount"], priceOf(BASKET));

      // The conversation, read back from herald serve.
      const last = flow === "orchestrated" ? T.sagaCompleted : T.received;
      const correlation = await waitFor(`the correlation of ${orderId} to end with ${last}`, async () => {
        const events = await log.correlation(orderId);
        return events.some((e) => e.type === last) ? events : undefined;
      });
      assertChain(correlation, CHAIN[flow], orderId);

      // The bot went to both stores, once each, in the task's order.
      const stops = correlation.filter((e) => e.type === T.stopShopped).map((e) => dataOf(e)["storeId"]);
      assert.deepEqual([...stops].sort(), ["store-bookshop", "store-greengrocer"]);
      const counts = countTypes(await log.about(orderId));
      for (const type of [T.placed, T.paid, T.ready, T.pickedUp, T.taskCreated, T.shopped, T.captured])
        assert.equal(counts[type], 1, `${type} once: ${JSON.stringify(counts)}`);
      if (flow === "orchestrated") {
        const completed = only(correlation, T.sagaCompleted);
        assert.equal(dataOf(completed)["key"], orderId);
        assert.equal(counts[T.sagaCompensated] ?? 0, 0);
      } else {
        assert.equal(counts[T.sagaCompleted] ?? 0, 0, "no saga runs in the choreography");
      }
    });

    it("the launcher's demo order command places an order and follows it to picked-up", async () => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [join(REPO_ROOT, "examples/mallbots/system/dist/src/main.js"), "order", "--customer", "grace"],
        {
          env: {
            ...process.env,
            MALLBOTS_GATEWAY_URL: system.url("gateway"),
            MALLBOTS_HERALD_URL: system.heraldUrl,
          },
          timeout: 120_000,
        },
      );
      assert.match(stdout, /order \S+ placed: 19\.97 for grace/);
      // It prints each status it sees (a fast flow may pass paid and ready between two looks).
      assert.match(stdout, /\splaced\n[\s\S]*pickup 200\n[\s\S]*\spicked-up\n/);
      assert.match(stdout, /#\/lineage\?position=\d+/);
    });
  });
}

/**
 * Every step of `chain` is in the correlation once, after the step it follows; each caused (causationid)
 * by the event of the step it names, and every causationid in the correlation points at an earlier event.
 */
function assertChain(correlation: readonly CloudEvent[], chain: (typeof CHAIN)[Flow], orderId: string) {
  const seen = types(correlation);
  const positions = chain.map(([type]) => {
    const at = seen.indexOf(type);
    assert.notEqual(at, -1, `${type} is in the correlation of ${orderId}: ${seen.join(", ")}`);
    assert.equal(seen.lastIndexOf(type), at, `${type} once in the correlation: ${seen.join(", ")}`);
    return at;
  });
  // In causal order: each step after its cause; a step started by an HTTP call after the step before it.
  chain.forEach(([type, cause], i) => {
    const before = cause ?? chain[i - 1]?.[0];
    if (before === undefined) return;
    assert.ok(
      positions[i]! > seen.indexOf(before),
      `${type} comes after ${before} in the correlation: ${seen.join(", ")}`,
    );
  });
  const byType = new Map(correlation.map((event) => [event.type, event]));
  for (const [type, cause] of chain) {
    const event = byType.get(type)!;
    assert.equal(event["correlationid"], orderId, `${type} carries correlationid ${orderId}`);
    assert.equal(event.subject, orderId, `${type} has subject ${orderId}`);
    if (cause !== null)
      assert.equal(event["causationid"], byType.get(cause)!.id, `${type} was caused by ${cause}`);
  }
  correlation.forEach((event, i) => {
    const causation = event["causationid"];
    if (typeof causation !== "string") return;
    assert.ok(
      correlation.slice(0, i).some((earlier) => earlier.id === causation),
      `${event.type} (${event.id}) names a cause that is an earlier event of the conversation`,
    );
  });
}
