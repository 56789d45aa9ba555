// Orders' copy of the catalog (event-carried state transfer): Stores' product events carry the whole
// product, so Orders prices and names an order from its own table and never calls Stores. The
// subscription starts at the beginning of Herald's log: a fresh database rebuilds the copy from history.
//
// The newest change wins by delivery order: Stores publishes a store's catalog events as one stream
// (subject = the store), and the subscription (ordering "key", the default) hands them over in log
// order, the next only once the previous was acked; the inbox skips a redelivered copy. (A handler is
// not told an event's log position, so it cannot compare positions itself.)
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
  // A removed product stays as a tombstone: an order placed before keeps its lines, a new one is refused.
  db.exec(`CREATE TABLE IF NOT EXISTS products (
    product_id TEXT PRIMARY KEY, store_id TEXT NOT NULL, name TEXT NOT NULL, price INTEGER NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0)`);
  const inbox = sqliteInboxIn(db);
  const upsert = db.prepare(
    `INSERT INTO products (product_id, store_id, name, price, removed)
     VALUES (:productId, :storeId, :name, :price, 0)
     ON CONFLICT (product_id) DO UPDATE SET store_id = excluded.store_id, name = excluded.name,
       price = excluded.price, removed = 0`,
  );
  const tombstone = db.prepare("UPDATE products SET removed = 1 WHERE product_id = ?");
  const byId = db.prepare<[string], ProductRow>(
    "SELECT product_id, store_id, name, price, removed FROM products WHERE product_id = ?",
  );
  /** The change and its inbox record commit together: a redelivered event is applied once. */
  const apply = db.transaction((event: CloudEvent, write: () => void) => {
    if (inbox.firstTime(inboxKey(event))) write();
  });

  return {
    /** The product as the event carries it replaces the copy's row. */
    upsert(event: CloudEvent, product: { productId: string; storeId: string; name: string; price: number }) {
      const { productId, storeId, name, price } = product;
      apply(event, () => upsert.run({ productId, storeId, name, price }));
    },
    remove(event: CloudEvent, productId: string) {
      apply(event, () => tombstone.run(productId));
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
      handler: (event) => catalog.remove(event, event.data.productId),
    }),
  ];
}
