// The three services of the order example. Each is a Router (the SDK's default middleware: retries,
// idempotency, and correlation, which stamps correlationid/causationid on what it emits) over a Herald
// subscription. `orchestrated`: they answer the saga's commands. `choreography`: they react to each
// other's events, and nobody coordinates: stock reserves on order.placed, payment charges on
// stock.reserved, shipping ships on payment.taken, stock releases on payment.failed.
import type { CloudEvent } from "@herald/cloudevents";
import { type HandlerContext, type HeraldClient, Router } from "@herald/sdk";

export type Mode = "orchestrated" | "choreography";
export type Role = "stock" | "payment" | "shipping";

/** Payment answers: above this amount the card is declined; exactly HANG_AMOUNT never answers. */
export const DECLINE_ABOVE = 1_000;
export const HANG_AMOUNT = 666;

interface OrderData {
  readonly orderId: string;
  readonly sku?: string;
  readonly quantity?: number;
  readonly amount?: number;
}

const reply = (
  ctx: HandlerContext,
  source: string,
  type: string,
  data: OrderData & Record<string, unknown>,
) => ctx.emit({ source, type, subject: `order/${data.orderId}`, datacontenttype: "application/json", data });

function stock(mode: Mode): Router {
  const source = "urn:example:stock";
  const reservations = new Map<string, string>();
  let available = 1_000_000;
  const reserve = (event: CloudEvent, ctx: HandlerContext) => {
    const order = event.data as OrderData;
    const quantity = order.quantity ?? 1;
    if (!reservations.has(order.orderId)) {
      if (quantity > available) {
        reply(ctx, source, "stock.reservation-failed", { orderId: order.orderId, reason: "out of stock" });
        return;
      }
      available -= quantity;
      reservations.set(order.orderId, `res-${order.orderId}`);
    }
    // In a choreography the next service needs the amount: the event carries it on.
    const extra = mode === "choreography" ? { amount: order.amount } : {};
    reply(ctx, source, "stock.reserved", {
      orderId: order.orderId,
      reservationId: reservations.get(order.orderId),
      ...extra,
    });
  };
  const release = (event: CloudEvent, ctx: HandlerContext) => {
    const { orderId } = event.data as OrderData;
    reservations.delete(orderId); // idempotent: releasing twice, or what was never reserved, is fine
    reply(ctx, source, "stock.released", { orderId });
  };
  const router = new Router();
  if (mode === "orchestrated") router.on("stock.reserve", reserve).on("stock.release", release);
  else router.on("order.placed", reserve).on("payment.failed", release);
  return router;
}

function payment(mode: Mode): Router {
  const source = "urn:example:payment";
  const take = (event: CloudEvent, ctx: HandlerContext) => {
    const { orderId, amount = 0 } = event.data as OrderData;
    if (amount === HANG_AMOUNT) return; // the payment provider never answers
    if (amount > DECLINE_ABOVE) reply(ctx, source, "payment.failed", { orderId, reason: "card declined" });
    else reply(ctx, source, "payment.taken", { orderId, paymentId: `pay-${orderId}` });
  };
  const router = new Router();
  if (mode === "orchestrated")
    router.on("payment.take", take).on("payment.refund", (event, ctx) => {
      reply(ctx, source, "payment.refunded", { orderId: (event.data as OrderData).orderId });
    });
  else router.on("stock.reserved", take);
  return router;
}

function shipping(mode: Mode): Router {
  const source = "urn:example:shipping";
  const ship = (event: CloudEvent, ctx: HandlerContext) => {
    reply(ctx, source, "shipping.shipped", { orderId: (event.data as OrderData).orderId });
  };
  return new Router().on(mode === "orchestrated" ? "shipping.ship" : "payment.taken", ship);
}

const ROUTERS: Record<Role, (mode: Mode) => Router> = { stock, payment, shipping };

/** Starts one service on its own subscription; resolves once it consumes. */
export async function startService(client: HeraldClient, role: Role, mode: Mode) {
  const router = ROUTERS[role](mode);
  const id = `${mode}-${role}`;
  const types = router.routes().map((r) => r.replace(/^type /, ""));
  await client.ensureSubscription({ id, types, config: { start: "beginning" } }, { onDifference: "keep" });
  return client.subscribe(id, router);
}
