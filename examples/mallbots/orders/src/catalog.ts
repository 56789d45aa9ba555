// Orders' copy of the catalog (event-carried state transfer): Stores' product events carry the whole
// product, so Orders prices and names an order from its own table and never calls Stores. The
// subscription starts at the beginning of Herald's log: a fresh database rebuilds the copy from history.
import type { CloudEvent } from "@herald/cloudevents";
import { inboxKey, NonRetryableError, sqliteInboxIn } from "@herald/sdk";
import { defineEventSource, type EventSourceDefinition } from "@herald/service";
import {
  type OrderItem,
  ProductAdded,
  ProductRemoved,
  ProductUpdated,
  SOURCES,
  SUBSCRIPTIONS,
  type SqliteDatabase,
} from "@mallbots/contracts";

/** What the copy keeps of a product (the rest of the event is other services' business). */
interface ProductRow {
  product_id: string;
  store_id: string;
  name: string;
  price: number;
  removed: number;
}

export function openCatalog(db: SqliteDatabase) {
  // A removed product stays as a tombstone with its change time, so an older copy of it arriving late
  // (a redriven dead letter, a replay) cannot bring it back.
  db.exec(`CREATE TABLE IF NOT EXISTS products (
    product_id TEXT PRIMARY KEY, store_id TEXT NOT NULL, name TEXT NOT NULL, price INTEGER NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0, changed_at INTEGER NOT NULL, event_id TEXT NOT NULL)`);
  const inbox = sqliteInboxIn(db);
  const upsert = db.prepare(
    `INSERT INTO products (product_id, store_id, name, price, removed, changed_at, event_id)
     VALUES (:productId, :storeId, :name, :price, :removed, :changedAt, :eventId)
     ON CONFLICT (product_id) DO UPDATE SET store_id = excluded.store_id, name = excluded.name,
       price = excluded.price, removed = excluded.removed, changed_at = excluded.changed_at,
       event_id = excluded.event_id
     WHERE excluded.changed_at >= products.changed_at`,
  );
  const tombstone = db.prepare(
    `INSERT INTO products (product_id, store_id, name, price, removed, changed_at, event_id)
     VALUES (:productId, :storeId, '', 0, 1, :changedAt, :eventId)
     ON CONFLICT (product_id) DO UPDATE SET removed = 1, changed_at = excluded.changed_at,
       event_id = excluded.event_id
     WHERE excluded.changed_at >= products.changed_at`,
  );
  const byId = db.prepare<[string], ProductRow>(
    "SELECT product_id, store_id, name, price, removed FROM products WHERE product_id = ?",
  );

  // The newest change wins. Herald delivers a product's events in log order (one stream per product,
  // ordering "key"); the event's `time` also orders copies that come again later. (The delivery
  // context carries no log position, which would be the better clock.)
  const changedAt = (event: CloudEvent) => {
    const time = event.time === undefined ? Number.NaN : Date.parse(event.time);
    return Number.isNaN(time) ? Date.now() : time;
  };
  /** The change and its inbox record commit together: a redelivered event is applied once. */
  const apply = db.transaction((event: CloudEvent, write: () => void) => {
    if (inbox.firstTime(inboxKey(event))) write();
  });

  return {
    upsert(event: CloudEvent, product: { productId: string; storeId: string; name: string; price: number }) {
      apply(event, () =>
        upsert.run({ ...product, removed: 0, changedAt: changedAt(event), eventId: event.id }),
      );
    },
    remove(event: CloudEvent, product: { productId: string; storeId: string }) {
      apply(event, () => tombstone.run({ ...product, changedAt: changedAt(event), eventId: event.id }));
    },
    /** The order's lines, named and priced from the copy; an unknown product is refused (422). */
    price(lines: readonly { productId: string; quantity: number }[]): OrderItem[] {
      return lines.map(({ productId, quantity }) => {
        const product = byId.get(productId);
        if (product === undefined || product.removed === 1)
          throw new NonRetryableError(`unknown product ${productId}`);
        return { productId, storeId: product.store_id, name: product.name, price: product.price, quantity };
      });
    },
  };
}
export type Catalog = ReturnType<typeof openCatalog>;

/** The catalog copy's Herald source: product events from Stores only. */
export function catalogSources(catalog: Catalog): EventSourceDefinition[] {
  const trigger = `herald.${SUBSCRIPTIONS.ordersCatalog}` as const;
  const fromStores = (event: CloudEvent) => event.source === SOURCES.stores;
  return [
    defineEventSource({
      trigger,
      event: ProductAdded,
      authorize: fromStores,
      subscription: {
        types: [ProductAdded.type, ProductUpdated.type, ProductRemoved.type],
        config: { start: "beginning" },
      },
      handler: (event) => catalog.upsert(event, event.data),
    }),
    defineEventSource({
      trigger,
      event: ProductUpdated,
      authorize: fromStores,
      handler: (event) => catalog.upsert(event, event.data),
    }),
    defineEventSource({
      trigger,
      event: ProductRemoved,
      authorize: fromStores,
      handler: (event) => catalog.remove(event, event.data),
    }),
  ];
}
