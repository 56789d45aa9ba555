// Depot's copy of the Stores catalog, kept from Stores' event-carried state transfer: each event holds
// the full store or product, so applying it replaces the row. Depot never calls Stores; a task's stops
// get their store names, locations and product names from here.
//
// "Newest wins" holds by delivery order: Stores gives every catalog event its store as subject, so one
// store's events are one stream, and the subscription (ordering "key", the default) hands them over in
// log order, the next only after the previous was acked. The inbox skips a redelivered copy.
import { RetryableError } from "@herald/sdk";
import type { OrderItem, Product, ShoppingStop, SqliteDatabase, Store } from "@mallbots/contracts";

export class CatalogCopy {
  readonly #db: SqliteDatabase;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS stores (store_id TEXT PRIMARY KEY, name TEXT NOT NULL, location TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS products (
        product_id TEXT PRIMARY KEY, store_id TEXT NOT NULL, name TEXT NOT NULL,
        removed INTEGER NOT NULL DEFAULT 0);`);
  }

  putStore(store: Store): void {
    this.#db
      .prepare(
        `INSERT INTO stores (store_id, name, location) VALUES (?, ?, ?)
         ON CONFLICT (store_id) DO UPDATE SET name = excluded.name, location = excluded.location`,
      )
      .run(store.storeId, store.name, store.location);
  }

  putProduct(product: Product): void {
    this.#db
      .prepare(
        `INSERT INTO products (product_id, store_id, name, removed) VALUES (?, ?, ?, 0)
         ON CONFLICT (product_id) DO UPDATE SET store_id = excluded.store_id, name = excluded.name, removed = 0`,
      )
      .run(product.productId, product.storeId, product.name);
  }

  /** Kept, marked removed: an order placed before the removal still gets its product's name. */
  removeProduct(productId: string): void {
    this.#db.prepare("UPDATE products SET removed = 1 WHERE product_id = ?").run(productId);
  }

  /**
   * The order's items grouped by store, stores in the order the items name them. A store the copy
   * does not know yet (Depot is still catching up with the catalog's history) is a RetryableError:
   * the event comes back once the copy has it.
   */
  stopsFor(items: readonly OrderItem[]): ShoppingStop[] {
    const store = this.#db.prepare<[string], { name: string; location: string }>(
      "SELECT name, location FROM stores WHERE store_id = ?",
    );
    const product = this.#db.prepare<[string], { name: string }>(
      "SELECT name FROM products WHERE product_id = ?",
    );
    const stops = new Map<string, ShoppingStop>();
    for (const item of items) {
      let stop = stops.get(item.storeId);
      if (stop === undefined) {
        const row = store.get(item.storeId);
        if (row === undefined)
          throw new RetryableError(`store ${item.storeId} is not in Depot's catalog copy yet`, {
            delayMs: 1_000,
          });
        stop = { storeId: item.storeId, storeName: row.name, location: row.location, items: [] };
        stops.set(item.storeId, stop);
      }
      // The order copied the name when it was placed; the catalog's current one is what the shelf says.
      const name = product.get(item.productId)?.name ?? item.name;
      stop.items.push({ productId: item.productId, name, quantity: item.quantity });
    }
    return [...stops.values()];
  }
}
