// Orders' HTTP API (scope mallbots:internal; the gateway calls it for the kiosks and the staff page).
// POST answers once the order's first event is in the event store; the read model follows a few
// milliseconds later, so a GET right after a POST may still answer 404 (read your writes from the
// POST's answer, or retry the GET).
import { randomUUID } from "node:crypto";
import { defineEventSource, type EventSourceDefinition, http } from "@herald/service";
import {
  notFound,
  OrderList,
  OrderStatusSchema,
  OrderView,
  outgoingTraceparent,
  PlacedOrder,
  PlaceOrderRequest,
  Problem,
  SCOPES,
} from "@mallbots/contracts";
import { Type } from "@sinclair/typebox";
import type { Catalog } from "./catalog.js";
import type { OrderCommands } from "./commands.js";
import type { orderQueries } from "./read-model.js";

const auth = { scopes: [SCOPES.internal] };

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The trace the new order joins: the active span's (a traced HTTP server), else the caller's header. */
function traceOf(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const header = headers["traceparent"];
  const traceparent = outgoingTraceparent(
    typeof header === "string" && TRACEPARENT.test(header) ? header : undefined,
  );
  return traceparent === undefined ? {} : { traceparent };
}

export function apiSources(
  catalog: Catalog,
  commands: OrderCommands,
  orders: ReturnType<typeof orderQueries>,
): EventSourceDefinition[] {
  return [
    defineEventSource({
      trigger: http.post("/orders"),
      summary: "Place an order (items priced and named from Orders' copy of the catalog)",
      description:
        "201 for a new order; 200 with the existing order when `orderId` names one placed before (a kiosk's retry). 422 for an unknown product.",
      input: { body: PlaceOrderRequest },
      output: { 200: PlacedOrder, 201: PlacedOrder },
      auth,
      handler: async ({ body, headers }) => {
        const orderId = body.orderId ?? randomUUID();
        // A retry finds the order as placed, even if the catalog changed since.
        const before = await commands.load(orderId);
        if (before.status !== "none")
          return { status: 200, body: { orderId, total: before.total, status: before.status } };
        const items = catalog.price(body.items);
        const place = { type: "place", orderId, customerId: body.customerId, items } as const;
        const { events, state } = await commands.run(orderId, place, {
          correlationid: orderId,
          ...traceOf(headers),
        });
        if (state.status === "none") throw new Error(`order ${orderId} was not placed`);
        const answer = { orderId, total: state.total, status: state.status };
        return events.length > 0 ? { status: 201, body: answer } : { status: 200, body: answer };
      },
    }),
    defineEventSource({
      trigger: http.get("/orders/:orderId"),
      summary: "An order, as the read model shows it",
      input: { params: Type.Object({ orderId: Type.String({ minLength: 1 }) }) },
      output: { 200: OrderView, 404: Problem },
      auth,
      handler: ({ params }) => {
        const order = orders.get(params.orderId);
        return order === undefined ? notFound(`no order ${params.orderId}`) : { status: 200, body: order };
      },
    }),
    defineEventSource({
      trigger: http.get("/orders"),
      summary: "Orders, the newest first, optionally by status and customer",
      input: {
        query: Type.Object({
          status: Type.Optional(OrderStatusSchema),
          customerId: Type.Optional(Type.String({ minLength: 1 })),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        }),
      },
      output: { 200: OrderList },
      auth,
      handler: ({ query }) => ({ status: 200, body: { orders: orders.list(query) } }),
    }),
  ];
}
