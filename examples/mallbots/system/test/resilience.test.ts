// Resilience: a consumer that is down does not stop the producers. Depot is stopped while ten orders
// are placed: each is taken at once (201) and paid (Orders and Payments do not need Depot). Depot
// starts again, catches up from its subscription, and every order is shopped, picked up and captured,
// with nothing done twice (one task, one shopping-completed, one capture per order).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SOURCES } from "@mallbots/contracts";
import {
  countTypes,
  kioskOf,
  Log,
  pickUpWhenReady,
  placeOrder,
  systemForSuite,
  T,
  types,
  waitFor,
  waitForStatus,
} from "./support.js";

const ORDERS = 10;

for (const flow of ["orchestrated", "choreography"] as const) {
  describe(`resilience: Depot down while orders are placed (${flow})`, { timeout: 240_000 }, () => {
    it("every order placed while Depot was stopped completes once Depot is back, each step once", async () => {
      const system = await systemForSuite({ flow, bots: 3, botStepMs: 20 });
      const kiosk = kioskOf(system);
      const log = new Log(system.heraldUrl);
      await system.stop("depot");

      const orderIds: string[] = [];
      for (let i = 0; i < ORDERS; i++) {
        const started = Date.now();
        orderIds.push(await placeOrder(kiosk, `customer-${i}`));
        // Orders answers from its own event store: a stopped Depot does not slow it down.
        assert.ok(Date.now() - started < 5_000, `order ${i} took ${Date.now() - started} ms`);
      }
      // Payment goes on without Depot; shopping waits for it.
      for (const orderId of orderIds) {
        const order = await waitForStatus(kiosk, orderId, ["paid", "ready", "picked-up", "cancelled"]);
        assert.equal(order.status, "paid", `${orderId} waits for Depot`);
      }
      const before = await log.where(`source = '${SOURCES.depot}'`);
      assert.equal(
        before.filter((e) => orderIds.includes(String(e.subject))).length,
        0,
        `no Depot event for an order while Depot was down: ${types(before).join(", ")}`,
      );

      await system.start("depot");
      await Promise.all(orderIds.map((orderId) => pickUpWhenReady(kiosk, orderId, 120_000)));

      for (const orderId of orderIds) {
        const events = await log.about(orderId);
        const counts = countTypes(events);
        for (const type of [T.taskCreated, T.shopped, T.handedOver, T.ready, T.pickedUp])
          assert.equal(counts[type], 1, `${orderId}: ${type} once; ${JSON.stringify(counts)}`);
        assert.equal(counts[T.cancelled] ?? 0, 0, `${orderId} was not cancelled`);
      }
      // The capture follows the pickup: wait for all ten, then count them.
      const captures = await waitForCaptures(log, orderIds);
      for (const orderId of orderIds) assert.equal(captures.get(orderId), 1, `${orderId} captured once`);
    });
  });
}

/** Captures per order, once every order has one. */
function waitForCaptures(log: Log, orderIds: readonly string[]): Promise<Map<string, number>> {
  return waitFor("a capture of every order", async () => {
    const counts = new Map<string, number>();
    for (const event of await log.ofType(T.captured)) {
      const orderId = String(event.subject);
      counts.set(orderId, (counts.get(orderId) ?? 0) + 1);
    }
    return orderIds.every((id) => counts.has(id)) ? counts : undefined;
  });
}
