// Agility: a service added later joins without touching the others. 100 orders go through the system
// (most picked up, some refused); then Analytics starts for the first time and builds its figures from
// the whole history in herald serve. Its figures equal what the log holds, and no other service was
// restarted or reconfigured.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CloudEvent } from "@herald/cloudevents";
import { type OrderItem, SUBSCRIPTIONS } from "@mallbots/contracts";
import type { Role } from "../src/system.js";
import {
  completeAll,
  dataOf,
  internal,
  kioskOf,
  Log,
  placeOrder,
  systemForSuite,
  T,
  waitFor,
} from "./support.js";

const ORDERS = 100;
/** Every tenth customer is refused by Payments. */
const customer = (i: number) => (i % 10 === 9 ? `broke-${i}` : `customer-${i}`);
/** Baskets vary so the products' figures differ. */
const BASKETS = [
  [{ productId: "prod-apples", quantity: 2 }],
  [
    { productId: "prod-novel", quantity: 1 },
    { productId: "prod-tea", quantity: 3 },
  ],
  [
    { productId: "prod-hammer", quantity: 1 },
    { productId: "prod-pears", quantity: 1 },
  ],
];

interface Figures {
  readonly orders: {
    readonly placed: number;
    readonly paid: number;
    readonly ready: number;
    readonly pickedUp: number;
    readonly cancelled: number;
  };
  readonly cancelledByReason: Record<string, number>;
  readonly revenueCaptured: number;
  readonly topProducts: readonly { productId: string; name: string; quantity: number }[];
  readonly meanMinutesToPickup: number | null;
}

describe("agility: Analytics joins after 100 orders", { timeout: 300_000 }, () => {
  it("builds figures equal to the log's from the whole history, with no change to any other service", async () => {
    const system = await systemForSuite({ bots: 5, botStepMs: 20 });
    const kiosk = kioskOf(system);
    const log = new Log(system.heraldUrl);

    const orderIds: string[] = [];
    for (let i = 0; i < ORDERS; i++) orderIds.push(await placeOrder(kiosk, customer(i), BASKETS[i % 3]));
    const ended = await completeAll(system, orderIds, 240_000);
    const statuses = [...ended.values()].map((order) => order.status);
    assert.equal(statuses.filter((s) => s === "cancelled").length, ORDERS / 10);
    assert.equal(statuses.filter((s) => s === "picked-up").length, ORDERS - ORDERS / 10);
    // The last captures follow the last pickups.
    await waitFor("every capture", async () =>
      (await log.ofType(T.captured)).length === ORDERS - ORDERS / 10 ? true : undefined,
    );

    // The others as they are before Analytics exists.
    const roles: Role[] = ["stores", "orders", "payments", "depot", "orchestrator", "gateway", "bots"];
    const pids = roles.map((role) => system.pid(role));
    const subscriptions = await definitions(log);

    await system.start("analytics");
    const expected = await figuresOf(log);
    let last: Figures | undefined;
    const figures = await waitFor(
      () => `Analytics' figures to equal the log's:\n${JSON.stringify(last)}\n${JSON.stringify(expected)}`,
      async () => {
        last = await internal<Figures>(system, "analytics", "/figures");
        return last.orders.pickedUp === expected.orders.pickedUp &&
          last.revenueCaptured === expected.revenueCaptured
          ? last
          : undefined;
      },
    );
    assert.deepEqual(figures.orders, expected.orders);
    assert.deepEqual(figures.cancelledByReason, expected.cancelledByReason);
    assert.equal(figures.revenueCaptured, expected.revenueCaptured);
    // Most sold first, at most ten; the mean in minutes to one decimal.
    assert.deepEqual(figures.topProducts, expected.topProducts.slice(0, 10));
    assert.equal(figures.topProducts.length, 5, "the five products of the baskets");
    assert.ok(figures.meanMinutesToPickup !== null && expected.meanMinutesToPickup !== null);
    assert.ok(
      Math.abs(figures.meanMinutesToPickup - Math.round(expected.meanMinutesToPickup * 10) / 10) < 0.1 + 1e-9,
      `mean minutes to pickup ${figures.meanMinutesToPickup} ≈ ${expected.meanMinutesToPickup}`,
    );

    // Nobody else was touched: the same processes, their subscriptions as they were. (Analytics reads
    // the log itself from position 0, keeping its checkpoint in its own database; it may add its own.)
    assert.deepEqual(
      roles.map((role) => system.pid(role)),
      pids,
    );
    const now = await definitions(log);
    for (const [id, definition] of subscriptions) assert.deepEqual(now.get(id), definition, id);
    assert.deepEqual(
      [...now.keys()].filter((id) => !subscriptions.has(id)),
      now.has(SUBSCRIPTIONS.analytics) ? [SUBSCRIPTIONS.analytics] : [],
    );
  });
});

/** Every subscription's definition by id. */
async function definitions(log: Log): Promise<Map<string, string>> {
  const all = await log.client.listSubscriptions();
  return new Map(all.map((s) => [s.id, JSON.stringify(s)]));
}

const byQuantity = (a: { productId: string; quantity: number }, b: { productId: string; quantity: number }) =>
  b.quantity - a.quantity || a.productId.localeCompare(b.productId);

/** The figures computed straight from herald serve's log. */
async function figuresOf(log: Log): Promise<Figures> {
  const all = await log.where("type LIKE 'mallbots.orders.%' OR type = 'mallbots.payments.payment-captured'");
  const count = (type: string) => all.filter((e) => e.type === type).length;
  const cancelledByReason: Record<string, number> = {};
  for (const event of all.filter((e) => e.type === T.cancelled)) {
    const reason = String(dataOf(event)["reason"]);
    cancelledByReason[reason] = (cancelledByReason[reason] ?? 0) + 1;
  }
  const placed = new Map<string, CloudEvent>(
    all.filter((e) => e.type === T.placed).map((e) => [String(dataOf(e)["orderId"]), e]),
  );
  const pickedUp = all.filter((e) => e.type === T.pickedUp);
  const sold = new Map<string, { productId: string; name: string; quantity: number }>();
  let minutes = 0;
  for (const event of pickedUp) {
    const order = placed.get(String(dataOf(event)["orderId"]))!;
    for (const item of dataOf(order)["items"] as OrderItem[]) {
      const entry = sold.get(item.productId) ?? { productId: item.productId, name: item.name, quantity: 0 };
      entry.quantity += item.quantity;
      sold.set(item.productId, entry);
    }
    minutes += (Date.parse(String(event.time)) - Date.parse(String(order.time))) / 60_000;
  }
  return {
    orders: {
      placed: count(T.placed),
      paid: count(T.paid),
      ready: count(T.ready),
      pickedUp: pickedUp.length,
      cancelled: count(T.cancelled),
    },
    cancelledByReason,
    revenueCaptured: all
      .filter((e) => e.type === T.captured)
      .reduce((sum, e) => sum + Number(dataOf(e)["amount"]), 0),
    topProducts: [...sold.values()].sort(byQuantity),
    meanMinutesToPickup: pickedUp.length === 0 ? null : minutes / pickedUp.length,
  };
}
