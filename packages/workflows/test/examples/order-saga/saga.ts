// The order saga, orchestrated: reserve stock → take payment → ship. A payment failure releases the
// reservation; no payment answer within the step timeout refunds (a late payment may still land) and
// releases. Every command names the order in its data and subject; the saga correlates by orderId.
import type { CloudEvent } from "@herald/cloudevents";
import { defineSaga } from "@herald/workflows";

export interface Order {
  readonly orderId: string;
  readonly sku: string;
  readonly quantity: number;
  readonly amount: number;
  readonly reservationId?: string;
  readonly paymentId?: string;
}

export const SOURCE = "urn:example:order-saga";

const command = (type: string, order: Order, data: Record<string, unknown> = {}) => ({
  type,
  subject: `order/${order.orderId}`,
  datacontenttype: "application/json",
  data: { orderId: order.orderId, ...data },
});

export function orderSaga(options: { paymentTimeoutMs: number; compensationRetryMs?: number }) {
  return defineSaga<Order>({
    name: "order",
    source: SOURCE,
    start: "order.placed",
    correlate: (event: CloudEvent) => (event.data as { orderId?: string } | undefined)?.orderId,
    init: (event) => event.data as Order,
    compensation: { maxAttempts: 3, retryAfterMs: options.compensationRetryMs ?? 5_000 },
    steps: [
      {
        name: "reserve",
        command: (o) => command("stock.reserve", o, { sku: o.sku, quantity: o.quantity }),
        succeeded: "stock.reserved",
        failed: "stock.reservation-failed",
        onSucceeded: (o, reply) => ({
          ...o,
          reservationId: (reply.data as { reservationId: string }).reservationId,
        }),
        compensate: {
          command: (o) => command("stock.release", o),
          succeeded: "stock.released",
          failed: "stock.release-failed",
        },
      },
      {
        name: "pay",
        command: (o) => command("payment.take", o, { amount: o.amount }),
        succeeded: "payment.taken",
        failed: "payment.failed",
        timeoutMs: options.paymentTimeoutMs,
        onSucceeded: (o, reply) => ({ ...o, paymentId: (reply.data as { paymentId: string }).paymentId }),
        compensate: { command: (o) => command("payment.refund", o), succeeded: "payment.refunded" },
      },
      {
        name: "ship",
        command: (o) => command("shipping.ship", o),
        succeeded: "shipping.shipped",
        failed: "shipping.failed",
      },
    ],
  });
}
