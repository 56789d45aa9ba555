// The getting-started example. docs/getting-started.md shows this file region by region (the
// docs test checks every snippet is taken verbatim from here); main.ts runs it end to end.

// #region events
import { defineEvent, type EventData, type HeraldClient, type Consumer, Router } from "@herald/sdk";
import { Type } from "@sinclair/typebox";

// One definition gives the compile-time type of `data` and its run-time check.
export const OrderPlaced = defineEvent({
  type: "com.example.order.placed",
  source: "/shop",
  schema: Type.Object({
    orderId: Type.String({ minLength: 1 }),
    total: Type.Number({ minimum: 0 }),
  }),
});
export type Order = EventData<typeof OrderPlaced>; // { orderId: string; total: number }

export const PriceRequested = defineEvent({
  type: "com.example.price.requested",
  source: "/shop",
  schema: Type.Object({ sku: Type.String() }),
});

export const PriceQuoted = defineEvent({
  type: "com.example.price.quoted",
  source: "/pricing",
  schema: Type.Object({ sku: Type.String(), cents: Type.Integer() }),
});
// #endregion events

// #region producer
export async function placeOrder(client: HeraldClient, order: Order): Promise<number> {
  // partitionkey names the stream: events of one order stay in order.
  const result = await client.send(OrderPlaced.create({ data: order, partitionkey: order.orderId }));
  if (result.ok) return result.position; // ACK: durable in the log, at this position
  if (result.kind === "nack") {
    // NACK: the broker refused it (status + RFC 9457 problem details); retrying will not help.
    throw new Error(`refused with ${result.status}: ${result.problem.detail ?? result.problem.title}`);
  }
  // Undelivered: no answer even after the client's automatic retries (safe: source+id dedupe).
  throw new Error(`broker unreachable after ${result.attempts} attempts: ${result.error.message}`);
}
// #endregion producer

// #region fan-out
// Two subscriptions = two consumer groups: each one gets every order.
export async function startFanOut(
  client: HeraldClient,
  bill: (order: Order) => Promise<void>,
  ship: (order: Order) => Promise<void>,
): Promise<Consumer[]> {
  await client.ensureSubscription({ id: "billing", types: [OrderPlaced.type] });
  await client.ensureSubscription({ id: "shipping", types: [OrderPlaced.type] });
  const billing = new Router().on(OrderPlaced, (event) => bill(event.data));
  const shipping = new Router().on(OrderPlaced, (event) => ship(event.data));
  return [client.subscribe("billing", billing), client.subscribe("shipping", shipping)];
}
// #endregion fan-out

// #region consumer-group
// Two consumers of ONE subscription share its events: each order is handled by one of them.
export async function startWorkers(
  client: HeraldClient,
  pack: (worker: string, order: Order) => Promise<void>,
): Promise<Consumer[]> {
  await client.ensureSubscription({ id: "packing", types: [OrderPlaced.type], config: { ordering: "none" } });
  return ["worker-1", "worker-2"].map((worker) =>
    client.subscribe(
      "packing",
      new Router().on(OrderPlaced, (event) => pack(worker, event.data)),
      { concurrency: 4 },
    ),
  );
}
// #endregion consumer-group

// #region request-reply
// The responder returns its reply; the SDK publishes it with causationid = the request's id.
export async function startPricing(client: HeraldClient): Promise<Consumer> {
  await client.ensureSubscription({ id: "pricing", types: [PriceRequested.type] });
  const pricing = new Router().on(PriceRequested, (event) =>
    PriceQuoted.create({ data: { sku: event.data.sku, cents: 1999 } }),
  );
  return client.subscribe("pricing", pricing);
}

// The requester waits for the event whose causationid is its request's id.
export async function askPrice(client: HeraldClient, sku: string): Promise<number> {
  const reply = await client.request(PriceRequested.create({ data: { sku } }), { timeoutMs: 5_000 });
  return PriceQuoted.parse(reply).data.cents; // validated and typed
}
// #endregion request-reply
