// The Orders HTTP API's bodies (POST /orders, GET /orders/:orderId, GET /orders), so the gateway
// declares the same schemas for its kiosk routes (its OpenAPI then shows the real shapes).
import { type Static, Type } from "@sinclair/typebox";
import { OrderItem } from "./events.js";

const Id = Type.String({ minLength: 1, maxLength: 100 });

/** An order's states, in order: placed → paid → ready → picked-up; or cancelled. */
export const ORDER_STATUS = ["placed", "paid", "ready", "picked-up", "cancelled"] as const;
export type OrderStatus = (typeof ORDER_STATUS)[number];
export const OrderStatusSchema = Type.Union(ORDER_STATUS.map((s) => Type.Literal(s)));

/** `POST /orders`: what to buy; `orderId` is the client's own, so a retry finds the same order. */
export const PlaceOrderRequest = Type.Object(
  {
    customerId: Id,
    items: Type.Array(
      Type.Object(
        { productId: Id, quantity: Type.Integer({ minimum: 1, maximum: 99 }) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 50 },
    ),
    orderId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type PlaceOrderRequest = Static<typeof PlaceOrderRequest>;

/** The answer of `POST /orders`: 201 for a new order, 200 for an order id placed before. */
export const PlacedOrder = Type.Object({ orderId: Id, total: Type.Integer(), status: OrderStatusSchema });
export type PlacedOrder = Static<typeof PlacedOrder>;

/** An order as Orders' read model shows it (`GET /orders/:orderId`, and each of `GET /orders`). */
export const OrderView = Type.Object({
  orderId: Id,
  customerId: Id,
  items: Type.Array(OrderItem),
  total: Type.Integer(),
  status: OrderStatusSchema,
  paymentId: Type.Union([Id, Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  /** RFC 3339, when the order was placed / last changed. */
  placedAt: Type.String(),
  updatedAt: Type.String(),
});
export type OrderView = Static<typeof OrderView>;

/** `GET /orders?status=&customerId=&limit=`: the newest first. */
export const OrderList = Type.Object({ orders: Type.Array(OrderView) });
export type OrderList = Static<typeof OrderList>;
