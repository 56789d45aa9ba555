// The kiosk REST API: browse the mall, order, follow the order, pick it up. Each route forwards to the
// service that owns the answer; the schemas are the services' own (contracts), so /openapi.json shows
// the real shapes. A service's problem (422 unknown product, 404 unknown order) comes back unchanged.
import { setTimeout as sleep } from "node:timers/promises";
import { defineEventSource, type EventSourceDefinition, http, SourceProblem } from "@herald/service";
import {
  OrderView,
  PlacedOrder,
  PlaceOrderRequest,
  Problem,
  Product,
  SCOPES,
  Store,
} from "@mallbots/contracts";
import { Type } from "@sinclair/typebox";
import type { CallOptions, Upstream } from "./upstream.js";

const Id = Type.String({ minLength: 1, maxLength: 100 });
/** The caller's W3C trace context, passed on to the services. */
const TraceHeaders = Type.Object({ traceparent: Type.Optional(Type.String()) });
export const Pickup = Type.Object({ orderId: Id, taskId: Id });

const auth = { scopes: [SCOPES.kiosk] };
const tags = ["kiosk"];
const path = encodeURIComponent;

export function kioskApi(upstream: Upstream): EventSourceDefinition[] {
  return [
    defineEventSource({
      trigger: http.get("/stores"),
      summary: "The mall's stores",
      tags,
      input: { headers: TraceHeaders },
      output: { 200: Type.Array(Store) },
      auth,
      handler: async ({ headers }, ctx) => ({
        status: 200,
        body: await upstream.call<Store[]>("stores", "GET", "/stores", {
          traceparent: headers.traceparent,
          signal: ctx.signal,
        }),
      }),
    }),
    defineEventSource({
      trigger: http.get("/stores/:storeId/products"),
      summary: "A store's products",
      tags,
      input: { params: Type.Object({ storeId: Id }), headers: TraceHeaders },
      output: { 200: Type.Array(Product), 404: Problem },
      auth,
      handler: async ({ params, headers }, ctx) => ({
        status: 200,
        body: await upstream.call<Product[]>("stores", "GET", `/stores/${path(params.storeId)}/products`, {
          traceparent: headers.traceparent,
          signal: ctx.signal,
        }),
      }),
    }),
    defineEventSource({
      trigger: http.post("/orders"),
      summary: "Place an order",
      description:
        "201 for a new order; with a client-chosen `orderId` a retry answers 200 with the order placed before.",
      tags,
      input: { body: PlaceOrderRequest, headers: TraceHeaders },
      output: { 201: PlacedOrder, 200: PlacedOrder },
      auth,
      handler: async ({ body, headers }, ctx) => {
        const placed = await upstream.request<PlacedOrder>("orders", "POST", "/orders", {
          body,
          traceparent: headers.traceparent,
          signal: ctx.signal,
        });
        return { status: placed.status === 201 ? 201 : 200, body: placed.body };
      },
    }),
    defineEventSource({
      trigger: http.get("/orders/:orderId"),
      summary: "An order and its status",
      tags,
      input: { params: Type.Object({ orderId: Id }), headers: TraceHeaders },
      output: { 200: OrderView, 404: Problem },
      auth,
      handler: async ({ params, headers }, ctx) => ({
        status: 200,
        body: await upstream.call<OrderView>("orders", "GET", `/orders/${path(params.orderId)}`, {
          traceparent: headers.traceparent,
          signal: ctx.signal,
        }),
      }),
    }),
    defineEventSource({
      trigger: http.post("/orders/:orderId/pickup"),
      summary: "Pick the order up at the depot",
      description: "Only once the order is ready (else 422 handler-refused); a repeat answers 200 again.",
      tags,
      input: { params: Type.Object({ orderId: Id }), headers: TraceHeaders },
      output: { 200: Pickup },
      auth,
      handler: async ({ params, headers }, ctx) => ({
        status: 200,
        body: await pickUp(upstream, params.orderId, {
          traceparent: headers.traceparent,
          signal: ctx.signal,
        }),
      }),
    }),
  ];
}

/** How long a pickup of an order Orders calls ready may wait for Depot to hold it. */
const PICKUP_GRACE_MS = 5_000;

/**
 * Depot `POST /pickups`. Orders says `ready` a moment before Depot holds the order (the saga's
 * hold-for-pickup, or Depot's copy of order-ready, is on its way), so while Orders says ready a
 * refusal is retried for a short while: what the kiosk sees (ready) is what it can do.
 */
async function pickUp(upstream: Upstream, orderId: string, options: CallOptions) {
  const deadline = Date.now() + PICKUP_GRACE_MS;
  for (let delayMs = 50; ; delayMs = Math.min(delayMs * 2, 500)) {
    try {
      return await upstream.call<{ orderId: string; taskId: string }>("depot", "POST", "/pickups", {
        ...options,
        body: { orderId },
      });
    } catch (error) {
      if (!(error instanceof SourceProblem) || error.problem.status !== 422 || Date.now() > deadline)
        throw error;
      const order = await upstream
        .call<OrderView>("orders", "GET", `/orders/${path(orderId)}`, options)
        .catch(() => undefined);
      if (order?.status !== "ready") throw error;
      await sleep(delayMs, undefined, options.signal ? { signal: options.signal } : {});
    }
  }
}
