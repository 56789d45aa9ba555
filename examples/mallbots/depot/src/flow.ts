// What Depot hears from Herald: the catalog (Stores' events, for its local copy) and the order flow,
// which differs by flow. Orchestrated: the saga's commands. Choreography: the order's events, and
// Depot's own deadline timer. Each handling is one transaction with the inbox (Depot.handleOnce).
import type { EventAuthorize, EventSourceDefinition } from "@herald/service";
import { defineEventSource } from "@herald/service";
import {
  AssignShopping,
  CancelShopping,
  type Flow,
  HoldForPickup,
  OrderCancelled,
  OrderPaid,
  OrderPlaced,
  OrderReady,
  ProductAdded,
  ProductRemoved,
  ProductUpdated,
  SOURCES,
  StoreCreated,
  SUBSCRIPTIONS,
  TaskDeadline,
} from "@mallbots/contracts";
import type { CatalogCopy } from "./catalog-copy.js";
import type { Depot } from "./depot.js";

/** Only the type's owner may emit it: anything else on the subscription is refused (dead-lettered). */
const from =
  (source: string): EventAuthorize =>
  (event) =>
    event.source === source;

/** Both subscriptions start at the beginning of the log: a fresh Depot rebuilds from the history. */
const subscription = (types: readonly string[]) => ({ types, config: { start: "beginning" as const } });

export function catalogSources(depot: Depot, catalog: CatalogCopy): EventSourceDefinition[] {
  const trigger = `herald.${SUBSCRIPTIONS.depotCatalog}` as const;
  const sub = subscription([StoreCreated.type, ProductAdded.type, ProductUpdated.type, ProductRemoved.type]);
  const stores = from(SOURCES.stores);
  return [
    defineEventSource({
      trigger,
      event: StoreCreated,
      authorize: stores,
      subscription: sub,
      handler: (event) => depot.handleOnce(event, () => catalog.putStore(event.data)),
    }),
    defineEventSource({
      trigger,
      event: ProductAdded,
      authorize: stores,
      subscription: sub,
      handler: (event) => depot.handleOnce(event, () => catalog.putProduct(event.data)),
    }),
    defineEventSource({
      trigger,
      event: ProductUpdated,
      authorize: stores,
      subscription: sub,
      handler: (event) => depot.handleOnce(event, () => catalog.putProduct(event.data)),
    }),
    defineEventSource({
      trigger,
      event: ProductRemoved,
      authorize: stores,
      subscription: sub,
      handler: (event) => depot.handleOnce(event, () => catalog.removeProduct(event.data.productId)),
    }),
  ];
}

export function flowSources(depot: Depot, flow: Flow): EventSourceDefinition[] {
  return flow === "orchestrated" ? orchestrated(depot) : choreography(depot);
}

/** The saga's commands; a command Depot already carried out changes nothing. */
function orchestrated(depot: Depot): EventSourceDefinition[] {
  const trigger = `herald.${SUBSCRIPTIONS.depotFlow}` as const;
  const sub = subscription([AssignShopping.type, CancelShopping.type, HoldForPickup.type]);
  const saga = from(SOURCES.saga);
  return [
    defineEventSource({
      trigger,
      event: AssignShopping,
      authorize: saga,
      subscription: sub,
      handler: (event) =>
        depot.handleOnce(event, () => {
          depot.createTask(event, event.data.orderId, event.data.items);
        }),
    }),
    defineEventSource({
      trigger,
      event: CancelShopping,
      authorize: saga,
      subscription: sub,
      handler: (event) =>
        depot.handleOnce(event, () => depot.cancel(event, event.data.orderId, "cancelled by the order saga")),
    }),
    defineEventSource({
      trigger,
      event: HoldForPickup,
      authorize: saga,
      subscription: sub,
      handler: (event) => depot.handleOnce(event, () => depot.holdForPickup(event.data.orderId)),
    }),
  ];
}

/** Each step reacts to the previous service's event; the deadline is Depot's own scheduled event. */
function choreography(depot: Depot): EventSourceDefinition[] {
  const trigger = `herald.${SUBSCRIPTIONS.depotFlow}` as const;
  const sub = subscription([
    OrderPlaced.type,
    OrderPaid.type,
    TaskDeadline.type,
    OrderReady.type,
    OrderCancelled.type,
  ]);
  const orders = from(SOURCES.orders);
  return [
    defineEventSource({
      trigger,
      event: OrderPlaced,
      authorize: orders,
      subscription: sub,
      handler: (event) =>
        depot.handleOnce(event, () => depot.rememberOrder(event.data.orderId, event.data.items)),
    }),
    defineEventSource({
      trigger,
      event: OrderPaid,
      authorize: orders,
      subscription: sub,
      handler: (event) => depot.handleOnce(event, () => depot.orderPaid(event, event.data.orderId)),
    }),
    defineEventSource({
      trigger,
      event: TaskDeadline,
      authorize: from(SOURCES.depot),
      subscription: sub,
      handler: (event) => depot.handleOnce(event, () => depot.deadline(event, event.data.taskId)),
    }),
    defineEventSource({
      trigger,
      event: OrderReady,
      authorize: orders,
      subscription: sub,
      handler: (event) => depot.handleOnce(event, () => depot.holdForPickup(event.data.orderId)),
    }),
    defineEventSource({
      trigger,
      event: OrderCancelled,
      authorize: orders,
      subscription: sub,
      handler: (event) =>
        depot.handleOnce(event, () => depot.cancel(event, event.data.orderId, event.data.reason)),
    }),
  ];
}
