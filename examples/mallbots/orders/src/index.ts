// @mallbots/orders: the Orders service (see README.md).
export {
  type OrderCommand,
  type OrderEvent,
  type OrderState,
  orderDecider,
  ORDER_EVENTS,
  orderStream,
} from "./domain.js";
export { integrationEvent, ORDERS_VIEW } from "./read-model.js";
export { startOrders } from "./service.js";
