// What the end-to-end tests share: a system per suite (closed after it), a kiosk, waits on
// conditions with deadlines, and reads of herald serve's log to assert on.
import assert from "node:assert/strict";
import { after } from "node:test";
import type { CloudEvent } from "@herald/cloudevents";
import { HeraldClient } from "@herald/sdk";
import { DEMO_PRODUCTS } from "@mallbots/contracts";
import { Kiosk, type OrderStatus, type OrderView } from "../src/kiosk.js";
import { type MallbotsSystem, type SystemOptions, startSystem } from "../src/system.js";

export const T = {
  placed: "mallbots.orders.order-placed",
  paid: "mallbots.orders.order-paid",
  ready: "mallbots.orders.order-ready",
  pickedUp: "mallbots.orders.order-picked-up",
  cancelled: "mallbots.orders.order-cancelled",
  approve: "mallbots.orders.approve-order",
  markReady: "mallbots.orders.mark-ready",
  completePickup: "mallbots.orders.complete-pickup",
  authorized: "mallbots.payments.payment-authorized",
  refused: "mallbots.payments.payment-refused",
  released: "mallbots.payments.payment-released",
  captured: "mallbots.payments.payment-captured",
  received: "mallbots.payments.payment-received",
  authorize: "mallbots.payments.authorize-payment",
  release: "mallbots.payments.release-payment",
  capture: "mallbots.payments.capture-payment",
  taskCreated: "mallbots.depot.task-created",
  dispatched: "mallbots.depot.bot-dispatched",
  recalled: "mallbots.depot.bot-recalled",
  stopShopped: "mallbots.depot.stop-shopped",
  shopped: "mallbots.depot.shopping-completed",
  shoppingFailed: "mallbots.depot.shopping-failed",
  shoppingCancelled: "mallbots.depot.shopping-cancelled",
  handedOver: "mallbots.depot.order-handed-over",
  assign: "mallbots.depot.assign-shopping",
  cancelShopping: "mallbots.depot.cancel-shopping",
  hold: "mallbots.depot.hold-for-pickup",
  // The saga's outcomes (SAGA_EVENTS of @herald/workflows; subject = the saga's key, the order id).
  sagaCompleted: "herald.saga.completed",
  sagaCompensated: "herald.saga.compensated",
  sagaFailed: "herald.saga.failed",
} as const;

/** Generous: two cores shared by every test and every engineer's build. */
export const DEADLINE_MS = 60_000;

/** Starts a system for a test; children's stderr is dropped unless MALLBOTS_TEST_LOG=1. */
export function startTestSystem(options: SystemOptions = {}): Promise<MallbotsSystem> {
  const verbose = process.env["MALLBOTS_TEST_LOG"] === "1";
  return startSystem({
    ...options,
    ...(verbose ? { log: (role, line) => process.stderr.write(`[${role}] ${line}\n`) } : {}),
  });
}

/**
 * A system for the running test, closed when it ends. Call it inside `it`: in a `before` hook the
 * `after` would belong to the hook (use startTestSystem and an `after` of the suite there).
 */
export async function systemForSuite(options: SystemOptions = {}): Promise<MallbotsSystem> {
  const system = await startTestSystem(options);
  after(() => system.close());
  return system;
}

export function kioskOf(system: MallbotsSystem): Kiosk {
  return new Kiosk(system.url("gateway"), system.keys.kiosk);
}

/** Calls a service's own API with the internal key (Payments' details, Depot's tasks and bots). */
export async function internal<T>(
  system: MallbotsSystem,
  role: "payments" | "depot" | "orders" | "analytics",
  path: string,
): Promise<T> {
  const response = await fetch(`${system.url(role)}${path}`, {
    headers: { "x-api-key": system.keys.internal },
  });
  const text = await response.text();
  assert.equal(response.status, 200, `GET ${role} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Polls `probe` until it answers something other than undefined, or fails after the deadline. */
export async function waitFor<V>(
  what: string | (() => string),
  probe: () => Promise<V | undefined> | V | undefined,
  timeoutMs = DEADLINE_MS,
  intervalMs = 100,
): Promise<V> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}${detail}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until the order's status (Orders' read model, through the kiosk) is one of `statuses`. */
export async function waitForStatus(
  kiosk: Kiosk,
  orderId: string,
  statuses: readonly OrderStatus[],
  timeoutMs = DEADLINE_MS,
): Promise<OrderView> {
  let last: OrderView | undefined;
  return waitFor(
    () => `order ${orderId} to be ${statuses.join("|")} (last seen: ${JSON.stringify(last)})`,
    async () => {
      const { status, body } = await kiosk.order(orderId);
      if (status !== 200) return undefined;
      last = body;
      return statuses.includes(body.status) ? body : undefined;
    },
    timeoutMs,
  );
}

/**
 * Picks the order up as soon as it is ready and waits for picked-up. Orders says ready a moment
 * before Depot holds the order for pickup (its own event), so a 422 "not ready" is tried again.
 */
export async function pickUpWhenReady(
  kiosk: Kiosk,
  orderId: string,
  timeoutMs = DEADLINE_MS,
): Promise<OrderView> {
  await waitForStatus(kiosk, orderId, ["ready", "picked-up"], timeoutMs);
  let last: unknown;
  await waitFor(
    () => `the pickup of ${orderId} (last answer: ${JSON.stringify(last)})`,
    async () => {
      const pickup = await kiosk.pickup(orderId);
      last = pickup;
      if (pickup.status === 422) return undefined;
      assert.equal(pickup.status, 200, `pickup of ${orderId}: ${JSON.stringify(pickup.body)}`);
      return true;
    },
    timeoutMs,
  );
  return waitForStatus(kiosk, orderId, ["picked-up"], timeoutMs);
}

/** A small basket of demo products from two stores (total under the payment limit). */
export const BASKET = [
  { productId: "prod-apples", quantity: 2 },
  { productId: "prod-novel", quantity: 1 },
] as const;

export function priceOf(items: readonly { productId: string; quantity: number }[]): number {
  return items.reduce((sum, item) => {
    const product = DEMO_PRODUCTS.find((p) => p.productId === item.productId);
    assert.ok(product, `no demo product ${item.productId}`);
    return sum + product.price * item.quantity;
  }, 0);
}

/** Places an order at the kiosk; asserts it was taken (201) and answers its id. */
export async function placeOrder(
  kiosk: Kiosk,
  customerId: string,
  items: readonly { productId: string; quantity: number }[] = BASKET,
): Promise<string> {
  const answer = await kiosk.placeOrder({ customerId, items: [...items] });
  assert.equal(answer.status, 201, `POST /orders: ${JSON.stringify(answer.body)}`);
  assert.equal(answer.body.total, priceOf(items));
  return answer.body.orderId;
}

/** herald serve's log, read with the SDK client (closed after the test that made it). */
export class Log {
  readonly client: HeraldClient;

  constructor(heraldUrl: string) {
    this.client = new HeraldClient({ url: heraldUrl });
    after(() => this.client.close());
  }

  /** Every event matching a CESQL filter, in log order. */
  async where(filter: string): Promise<CloudEvent[]> {
    const events: CloudEvent[] = [];
    for await (const entry of this.client.events({ filter, pageSize: 1000 }))
      events.push(entry.event as CloudEvent);
    return events;
  }

  /** Every event about one order (subject = orderId), in log order. */
  about(orderId: string): Promise<CloudEvent[]> {
    return this.where(`subject = '${orderId}'`);
  }

  /** The events of one type, in log order. */
  ofType(type: string): Promise<CloudEvent[]> {
    return this.where(`type = '${type}'`);
  }

  /** The whole correlation of an order (GET /correlations/<orderId>), every page. */
  async correlation(orderId: string): Promise<CloudEvent[]> {
    const events: CloudEvent[] = [];
    let after = 0;
    for (;;) {
      const page = await this.client.correlation(orderId, { after, limit: 1000 });
      for (const entry of page.events) events.push(entry.event as CloudEvent);
      if (page.events.length === 0 || page.next <= after) return events;
      after = page.next;
    }
  }
}

/** How many events of each type, e.g. `{ "mallbots.orders.order-paid": 1 }`. */
export function countTypes(events: readonly CloudEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const event of events) counts[event.type] = (counts[event.type] ?? 0) + 1;
  return counts;
}

export function types(events: readonly CloudEvent[]): string[] {
  return events.map((event) => event.type);
}

/** The data of an event as a record (JSON events only). */
export function dataOf(event: CloudEvent | undefined): Record<string, unknown> {
  assert.ok(event, "no event");
  return event.data as Record<string, unknown>;
}

/** The one event of `type` in `events`; fails when there is none or more than one. */
export function only(events: readonly CloudEvent[], type: string): CloudEvent {
  const found = events.filter((event) => event.type === type);
  assert.equal(found.length, 1, `expected one ${type}, got ${found.length} in ${types(events).join(", ")}`);
  return found[0]!;
}

/** A deterministic pseudo-random generator (mulberry32), so a failing run can be replayed by its seed. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The customers of many orders: one poller reads Orders' list (rather than a poller per order) and
 * picks each order up when it is ready; resolves when every order is picked up or cancelled.
 */
export async function completeAll(
  system: MallbotsSystem,
  orderIds: readonly string[],
  timeoutMs = 120_000,
): Promise<Map<string, OrderView>> {
  const kiosk = kioskOf(system);
  const wanted = new Set(orderIds);
  const pickedUp = new Set<string>();
  let ended = new Map<string, OrderView>();
  await waitFor(
    () => `every order picked up or cancelled (${ended.size} of ${orderIds.length} did)`,
    async () => {
      const { orders } = await internal<{ orders: OrderView[] }>(system, "orders", "/orders?limit=1000");
      ended = new Map();
      for (const order of orders) {
        if (!wanted.has(order.orderId)) continue;
        if (order.status === "ready" && !pickedUp.has(order.orderId)) {
          const answer = await kiosk.pickup(order.orderId);
          // Depot holds the order a moment after Orders says ready: the next round tries again.
          if (answer.status === 422) continue;
          assert.equal(answer.status, 200, `pickup of ${order.orderId}: ${JSON.stringify(answer.body)}`);
          pickedUp.add(order.orderId);
        }
        if (order.status === "picked-up" || order.status === "cancelled") ended.set(order.orderId, order);
      }
      return ended.size === wanted.size ? ended : undefined;
    },
    timeoutMs,
    250,
  );
  return ended;
}
