// What Payments listens to, by flow, and its query API. Orchestrated: the saga's commands.
// Choreography: the Orders events that mean the same thing. Either way one subscription, whose types
// are the flow's (ensured at start, so switching the flow updates them).
import type { EventDefinition, TypedEvent } from "@herald/sdk";
import { defineEventSource, type EventSourceDefinition, http } from "@herald/service";
import {
  AuthorizePayment,
  CapturePayment,
  type Flow,
  notFound,
  OrderCancelled,
  OrderPickedUp,
  OrderPlaced,
  Problem,
  ReleasePayment,
  SCOPES,
  SOURCES,
  SUBSCRIPTIONS,
} from "@mallbots/contracts";
import { Type } from "@sinclair/typebox";
import { Payment, type Payments } from "./payments.js";

/** One way in: an event type, the one source allowed to send it, and what it does. */
interface Trigger<T> {
  readonly event: EventDefinition<T>;
  readonly from: string;
  readonly handle: (event: TypedEvent<T>) => void;
}
const on = <T>(
  event: EventDefinition<T>,
  from: string,
  handle: (event: TypedEvent<T>) => void,
): Trigger<T> => ({
  event,
  from,
  handle,
});

function triggers(flow: Flow, payments: Payments) {
  return flow === "orchestrated"
    ? [
        on(AuthorizePayment, SOURCES.saga, (e) => payments.authorize(e, e.data)),
        on(ReleasePayment, SOURCES.saga, (e) => payments.release(e, e.data.orderId)),
        on(CapturePayment, SOURCES.saga, (e) => payments.capture(e, e.data.orderId)),
      ]
    : [
        on(OrderPlaced, SOURCES.orders, (e) => {
          const { orderId, customerId, total } = e.data;
          payments.authorize(e, { orderId, customerId, amount: total });
        }),
        on(OrderCancelled, SOURCES.orders, (e) => payments.release(e, e.data.orderId)),
        on(OrderPickedUp, SOURCES.orders, (e) => payments.capture(e, e.data.orderId)),
      ];
}

export function paymentSources(flow: Flow, payments: Payments): EventSourceDefinition[] {
  const ways = triggers(flow, payments) as Trigger<unknown>[];
  const subscription = { types: ways.map((w) => w.event.type), config: { start: "beginning" as const } };
  return [
    ...ways.map((way) =>
      defineEventSource({
        trigger: `herald.${SUBSCRIPTIONS.payments}`,
        event: way.event,
        // Who may emit what: a command from anyone but the saga is dead-lettered, never obeyed.
        authorize: (event) => event.source === way.from,
        subscription,
        handler: (event) => way.handle(event),
      }),
    ),
    defineEventSource({
      trigger: http.get("/payments/:paymentId"),
      summary: "A payment's details (payment-received carries its id only)",
      input: { params: Type.Object({ paymentId: Type.String() }) },
      output: { 200: Payment, 404: Problem },
      auth: { scopes: [SCOPES.internal] },
      handler: ({ params }) => {
        const payment = payments.payment(params.paymentId);
        return payment ? { status: 200, body: payment } : notFound(`no payment ${params.paymentId}`);
      },
    }),
    defineEventSource({
      trigger: http.get("/payments"),
      summary: "Payments, newest first, or the payment of one order",
      input: {
        query: Type.Object({
          orderId: Type.Optional(Type.String()),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        }),
      },
      output: { 200: Type.Array(Payment) },
      auth: { scopes: [SCOPES.internal] },
      handler: ({ query }) => ({ status: 200, body: payments.list(query) }),
    }),
  ];
}
