// The compensation paths, in both flows: a refused payment cancels the order before any shopping; a
// bot that never finishes (behaviour "stall") runs into the bot timeout: the task is cancelled, the bot
// recalled, the authorization released and the order cancelled. Nothing is ever captured.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { MallbotsSystem } from "../src/system.js";
import {
  countTypes,
  dataOf,
  internal,
  kioskOf,
  Log,
  only,
  placeOrder,
  startTestSystem,
  T,
  types,
  waitFor,
  waitForStatus,
} from "./support.js";

const BOT_TIMEOUT_MS = 1_500;

interface Task {
  readonly taskId: string;
  readonly orderId: string;
  readonly status: string;
  readonly botId?: string;
}
interface Bot {
  readonly botId: string;
  readonly status: string;
  readonly taskId?: string;
}

for (const flow of ["orchestrated", "choreography"] as const) {
  describe(`compensation (${flow})`, { timeout: 180_000 }, () => {
    // One system for the suite's three orders.
    let system: MallbotsSystem;
    before(async () => {
      system = await startTestSystem({ flow, bots: 1, botBehaviour: "stall", botTimeoutMs: BOT_TIMEOUT_MS });
    });
    after(() => system?.close());

    /** The order ended cancelled (reason given) with no shopping, no capture. */
    async function assertRefused(orderId: string) {
      const kiosk = kioskOf(system);
      const log = new Log(system.heraldUrl);
      const order = await waitForStatus(kiosk, orderId, ["cancelled"]);
      assert.ok(order.reason, "a cancelled order says why");
      // The saga's outcome (orchestrated) or Orders' reaction (choreography) is the last word: wait for it.
      await waitFor(`the order-cancelled event of ${orderId}`, async () =>
        (await log.about(orderId)).some((e) => e.type === T.cancelled) ? true : undefined,
      );
      const events = await log.about(orderId);
      const counts = countTypes(events);
      assert.equal(counts[T.refused], 1, types(events).join(", "));
      for (const type of [T.authorized, T.paid, T.taskCreated, T.dispatched, T.shopped, T.captured])
        assert.equal(counts[type] ?? 0, 0, `no ${type}: ${types(events).join(", ")}`);
      assert.equal(counts[T.cancelled], 1);
      if (flow === "orchestrated") {
        await waitFor("the saga's compensated outcome", async () =>
          (await log.about(orderId)).some((e) => e.type === T.sagaCompensated) ? true : undefined,
        );
        assert.equal(countTypes(await log.about(orderId))[T.sagaCompleted] ?? 0, 0);
      }
      const tasks = await internal<Task[]>(system, "depot", `/tasks?orderId=${orderId}`);
      assert.deepEqual(tasks, [], "Depot made no task");
    }

    it("an amount over the payment limit is refused: the order is cancelled, nothing shopped", async () => {
      // The demo drill (649.00) is over the default limit (500.00).
      const orderId = await placeOrder(kioskOf(system), "ada", [{ productId: "prod-drill", quantity: 1 }]);
      await assertRefused(orderId);
      const refused = only(await new Log(system.heraldUrl).about(orderId), T.refused);
      assert.equal(dataOf(refused)["orderId"], orderId);
    });

    it("a broke- customer is refused: the order is cancelled, nothing shopped", async () => {
      const orderId = await placeOrder(kioskOf(system), "broke-bob");
      await assertRefused(orderId);
    });

    it("a bot that does not finish in time: task cancelled, bot recalled, payment released, order cancelled", async () => {
      const kiosk = kioskOf(system);
      const log = new Log(system.heraldUrl);
      const orderId = await placeOrder(kiosk, "ada");
      const paid = await waitForStatus(kiosk, orderId, ["paid", "cancelled"]);
      assert.ok(paid.paymentId, "it was paid before the bot took it");
      // The stalling bot takes the task...
      const dispatched = await waitFor(`a bot dispatched for ${orderId}`, async () =>
        (await log.about(orderId)).find((e) => e.type === T.dispatched),
      );
      const { botId, taskId } = dataOf(dispatched) as { botId: string; taskId: string };
      // ...and never finishes: after the timeout everything is undone.
      const order = await waitForStatus(kiosk, orderId, ["cancelled"], BOT_TIMEOUT_MS + 60_000);
      assert.ok(order.reason, "a cancelled order says why");
      const events = await waitFor(`payment-released and bot-recalled of ${orderId}`, async () => {
        const about = await log.about(orderId);
        const seen = new Set(types(about));
        return seen.has(T.released) && seen.has(T.recalled) && seen.has(T.cancelled) ? about : undefined;
      });
      const recalled = only(events, T.recalled);
      assert.deepEqual(dataOf(recalled), { botId, taskId, orderId });
      assert.equal(dataOf(only(events, T.released))["paymentId"], paid.paymentId);
      const counts = countTypes(events);
      for (const type of [T.shopped, T.ready, T.captured, T.handedOver])
        assert.equal(counts[type] ?? 0, 0, `no ${type}: ${types(events).join(", ")}`);
      assert.equal(counts[T.cancelled], 1);
      const seen = types(events);
      assert.ok(seen.indexOf(T.recalled) > seen.indexOf(T.dispatched));
      if (flow === "orchestrated") {
        for (const type of [T.cancelShopping, T.shoppingCancelled, T.release])
          assert.equal(counts[type], 1, type);
        // The saga undoes its steps in reverse: the shopping first, then the authorization.
        assert.ok(seen.indexOf(T.release) > seen.indexOf(T.shoppingCancelled), seen.join(", "));
        await waitFor("the saga's compensated outcome", async () =>
          (await log.about(orderId)).some((e) => e.type === T.sagaCompensated) ? true : undefined,
        );
      } else {
        assert.equal(counts[T.shoppingFailed], 1, "Depot's own deadline failed the task");
        assert.equal(dataOf(only(events, T.shoppingFailed))["reason"], "bot timeout");
        // Orders cancels because the shopping failed; Payments releases because the order was cancelled.
        assert.ok(seen.indexOf(T.cancelled) > seen.indexOf(T.shoppingFailed), seen.join(", "));
        assert.ok(seen.indexOf(T.released) > seen.indexOf(T.cancelled), seen.join(", "));
      }

      // Depot's view: the task is cancelled and the bot is free again (a new task may go to it).
      const task = await internal<Task>(system, "depot", `/tasks/${taskId}`);
      assert.equal(task.status, "cancelled");
      const bot = await waitFor(`bot ${botId} idle again`, async () => {
        const found = (await internal<Bot[]>(system, "depot", "/bots")).find((b) => b.botId === botId);
        return found?.status === "idle" ? found : undefined;
      });
      assert.ok(!bot.taskId, "the recalled bot holds no task");
      const payment = await internal<Record<string, unknown>>(
        system,
        "payments",
        `/payments/${paid.paymentId}`,
      );
      assert.equal(payment["status"], "released");
    });
  });
}
