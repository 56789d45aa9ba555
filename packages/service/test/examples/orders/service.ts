// The orders service in TypeScript: an HTTP event that publishes OrderPlaced to Herald, a Herald
// subscription that bills it, and a nightly cron job. examples/orders-service/README.md explains it.
import { defineEvent, NonRetryableError } from "@herald/sdk";
import { Type } from "@sinclair/typebox";
import { defineEventSource, type EventSourceDefinition, http } from "../../../src/index.js";

export const Order = Type.Object(
  { sku: Type.String({ minLength: 1 }), qty: Type.Integer({ minimum: 1 }) },
  { additionalProperties: false },
);
export const OrderPlaced = defineEvent({
  type: "com.example.order.placed",
  source: "/orders",
  schema: Order,
});

export interface Ledger {
  readonly billed: { id: string; sku: string; qty: number }[];
  readonly reports: string[];
}

export function orderService(ledger: Ledger, subscription: string): EventSourceDefinition[] {
  return [
    defineEventSource({
      trigger: http.post("/orders"),
      summary: "Place an order",
      input: { body: Order },
      output: { 202: Type.Object({ id: Type.String() }) },
      auth: { scopes: ["orders:write"] },
      handler: async ({ body }, ctx) => {
        const event = OrderPlaced.create({ data: body });
        const sent = await ctx.client!.send(event);
        if (!sent.ok) throw new Error("the broker did not take the order");
        return { status: 202, body: { id: event.id } };
      },
    }),
    defineEventSource({
      trigger: `herald.${subscription}`,
      event: OrderPlaced,
      authorize: (event) => event.source === "/orders",
      subscription: { types: [OrderPlaced.type], config: { start: "beginning" } },
      handler: (event) => {
        if (event.data.sku === "discontinued") throw new NonRetryableError("discontinued item");
        ledger.billed.push({ id: event.id, ...event.data });
      },
    }),
    defineEventSource({
      trigger: "cron.0 2 * * *.Europe/Paris",
      name: "nightly-report",
      handler: (event) => {
        ledger.reports.push(`${ledger.billed.length} billed before ${event.data!.scheduledTime}`);
      },
    }),
  ];
}
