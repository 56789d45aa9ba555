// A SIGKILL of the saga's orchestrator mid-flow, twice, at seeded random moments while 20 orders are
// in flight (MALLBOTS_CRASH_SEED=<n> replays a run). The saga's state is its stream in herald serve,
// so the restarted orchestrator carries on: each order ends exactly once, picked up and captured, or
// cancelled and (if it was authorized) released; no saga outcome twice, no capture twice.
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { describe, it } from "node:test";
import {
  completeAll,
  countTypes,
  kioskOf,
  Log,
  placeOrder,
  seeded,
  systemForSuite,
  T,
  types,
  waitFor,
} from "./support.js";

const ORDERS = 20;
/** Every fifth customer is refused: some sagas compensate while the orchestrator dies. */
const customer = (i: number) => (i % 5 === 4 ? `broke-${i}` : `customer-${i}`);

describe("the orchestrator killed mid-flow", { timeout: 300_000 }, () => {
  it("each order completes or compensates exactly once across two SIGKILLs", async (t) => {
    const seed = Number(process.env["MALLBOTS_CRASH_SEED"] ?? randomInt(0, 2 ** 31));
    t.diagnostic(`seed ${seed} (replay: MALLBOTS_CRASH_SEED=${seed})`);
    console.log(`orchestrator crash test: seed ${seed} (replay: MALLBOTS_CRASH_SEED=${seed})`);
    const random = seeded(seed);
    // Slow enough bots (two stops of 150 ms, 4 bots for 16 orders) that orders are in every step at the kills.
    const system = await systemForSuite({ bots: 4, botStepMs: 150 });
    const kiosk = kioskOf(system);
    const log = new Log(system.heraldUrl);

    const orderIds: string[] = [];
    const placing = (async () => {
      for (let i = 0; i < ORDERS; i++) orderIds.push(await placeOrder(kiosk, customer(i)));
    })();
    // The customers pick their orders up while the orchestrator dies and comes back.
    const completing = placing.then(() => completeAll(system, orderIds, 180_000));
    // Two crashes, each some time into the flow, the orchestrator started again after a short while.
    for (const crash of [1, 2]) {
      const waitMs = Math.round(300 + random() * 2_500);
      const downMs = Math.round(random() * 1_000);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      await system.kill("orchestrator");
      t.diagnostic(
        `crash ${crash}: SIGKILL after ${waitMs} ms (${orderIds.length} orders placed), restart ${downMs} ms later`,
      );
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await system.start("orchestrator");
    }
    const ended = await completing;

    for (const orderId of orderIds) {
      const status = ended.get(orderId)?.status;
      // The saga's outcome is published after the last step's event: wait for it, then count.
      const events = await waitFor(`the saga's outcome for ${orderId}`, async () => {
        const about = await log.about(orderId);
        return about.some((e) => e.type === T.sagaCompleted || e.type === T.sagaCompensated)
          ? about
          : undefined;
      });
      const counts = countTypes(events);
      const trail = `${orderId} (${status}): ${types(events).join(", ")}`;
      assert.equal(
        (counts[T.sagaCompleted] ?? 0) + (counts[T.sagaCompensated] ?? 0),
        1,
        `one outcome: ${trail}`,
      );
      assert.equal(counts[T.sagaFailed] ?? 0, 0, trail);
      if (status === "picked-up") {
        assert.equal(counts[T.sagaCompleted], 1, trail);
        await waitFor(`the capture of ${orderId}`, async () =>
          (await log.about(orderId)).some((e) => e.type === T.captured) ? true : undefined,
        );
        const after = countTypes(await log.about(orderId));
        assert.equal(after[T.captured], 1, `captured once: ${trail}`);
        assert.equal(after[T.released] ?? 0, 0, `never released: ${trail}`);
      } else {
        assert.equal(status, "cancelled", trail);
        assert.equal(counts[T.sagaCompensated], 1, trail);
        assert.equal(counts[T.captured] ?? 0, 0, `never captured: ${trail}`);
        assert.equal(counts[T.released] ?? 0, counts[T.authorized] ?? 0, `released iff authorized: ${trail}`);
      }
      assert.equal(counts[T.cancelled] ?? 0, status === "cancelled" ? 1 : 0, trail);
    }
    // The refused customers were cancelled; the others went through (the bot timeout is 120 s).
    for (const [i, orderId] of orderIds.entries())
      assert.equal(ended.get(orderId)?.status, customer(i).startsWith("broke-") ? "cancelled" : "picked-up");
  });
});
