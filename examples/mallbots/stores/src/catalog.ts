// The catalog: stores and products in plain tables. Every change writes the full record into the
// outbox in the same transaction (event-carried state transfer), so a consumer's copy is the last
// event it saw and a crash can never commit a change without its event, or the other way round.
import { randomUUID } from "node:crypto";
import type { CloudEvent } from "@herald/cloudevents";
import {
  activeTrace,
  type Product,
  ProductAdded,
  ProductRemoved,
  ProductUpdated,
  type SqliteDatabase,
  type Store,
  StoreCreated,
} from "@mallbots/contracts";

/** What a caller sends: the ids are the catalog's. */
export type StoreInput = Omit<Store, "storeId">;
export type ProductInput = Omit<Product, "productId" | "storeId">;

/** Adds events to the outbox inside the caller's transaction (sqliteOutbox(db).add). */
export type OutboxAdd = (events: readonly CloudEvent[]) => void;

/**
 * Ids for a change. The API leaves them out (fresh UUIDs); the seed passes fixed ones, so seeding a
 * lost database again publishes events Herald already holds (same source+id: stored once).
 */
export interface ChangeIds {
  readonly id?: string;
  readonly eventId?: string;
}

interface ProductRow {
  product_id: string;
  store_id: string;
  name: string;
  description: string;
  sku: string;
  price: number;
}

const toProduct = (row: ProductRow): Product => ({
  productId: row.product_id,
  storeId: row.store_id,
  name: row.name,
  description: row.description,
  sku: row.sku,
  price: row.price,
});

export class Catalog {
  readonly #db: SqliteDatabase;
  readonly #add: OutboxAdd;

  constructor(db: SqliteDatabase, add: OutboxAdd) {
    this.#db = db;
    this.#add = add;
    db.exec(`
      CREATE TABLE IF NOT EXISTS stores (
        store_id TEXT PRIMARY KEY, name TEXT NOT NULL, location TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS products (
        product_id TEXT PRIMARY KEY, store_id TEXT NOT NULL REFERENCES stores (store_id),
        name TEXT NOT NULL, description TEXT NOT NULL, sku TEXT NOT NULL, price INTEGER NOT NULL,
        updated_at TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS products_by_store ON products (store_id);`);
  }

  /** Runs `fn` in one transaction (nested calls join it: the seed is one transaction). */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }

  isEmpty(): boolean {
    return this.#db.prepare("SELECT 1 FROM stores LIMIT 1").get() === undefined;
  }

  stores(): Store[] {
    return this.#db
      .prepare<[], Store>(
        "SELECT store_id AS storeId, name, location FROM stores ORDER BY created_at, store_id",
      )
      .all();
  }

  store(storeId: string): Store | undefined {
    return this.#db
      .prepare<[string], Store>("SELECT store_id AS storeId, name, location FROM stores WHERE store_id = ?")
      .get(storeId);
  }

  /** The store's products; undefined when there is no such store. */
  products(storeId: string): Product[] | undefined {
    if (this.store(storeId) === undefined) return undefined;
    return this.#db
      .prepare<[string], ProductRow>("SELECT * FROM products WHERE store_id = ? ORDER BY name, product_id")
      .all(storeId)
      .map(toProduct);
  }

  product(storeId: string, productId: string): Product | undefined {
    const row = this.#db
      .prepare<[string, string], ProductRow>("SELECT * FROM products WHERE product_id = ? AND store_id = ?")
      .get(productId, storeId);
    return row && toProduct(row);
  }

  createStore(input: StoreInput, ids: ChangeIds = {}): Store {
    const store: Store = { storeId: ids.id ?? `store-${randomUUID()}`, ...input };
    this.transaction(() => {
      this.#db
        .prepare("INSERT INTO stores (store_id, name, location, created_at) VALUES (?, ?, ?, ?)")
        .run(store.storeId, store.name, store.location, new Date().toISOString());
      this.#add([StoreCreated.create({ ...eventAttributes(store.storeId, ids), data: store })]);
    });
    return store;
  }

  /** The new product; undefined when there is no such store. */
  addProduct(storeId: string, input: ProductInput, ids: ChangeIds = {}): Product | undefined {
    return this.transaction(() => {
      if (this.store(storeId) === undefined) return undefined;
      const product: Product = { productId: ids.id ?? `prod-${randomUUID()}`, storeId, ...input };
      this.#db
        .prepare(
          `INSERT INTO products (product_id, store_id, name, description, sku, price, updated_at)
           VALUES (@productId, @storeId, @name, @description, @sku, @price, @updatedAt)`,
        )
        .run({ ...product, updatedAt: new Date().toISOString() });
      this.#add([ProductAdded.create({ ...eventAttributes(storeId, ids), data: product })]);
      return product;
    });
  }

  /** The product as it is now (no event when nothing changed); undefined when there is no such product. */
  updateProduct(storeId: string, productId: string, input: ProductInput): Product | undefined {
    return this.transaction(() => {
      const before = this.product(storeId, productId);
      if (before === undefined) return undefined;
      const after: Product = { productId, storeId, ...input };
      if (sameProduct(before, after)) return before;
      this.#db
        .prepare(
          `UPDATE products SET name = @name, description = @description, sku = @sku, price = @price,
           updated_at = @updatedAt WHERE product_id = @productId`,
        )
        .run({ ...after, updatedAt: new Date().toISOString() });
      // The full product, not the changed fields: consumers replace their copy.
      this.#add([ProductUpdated.create({ ...eventAttributes(storeId), data: after })]);
      return after;
    });
  }

  /** False when there is no such product. */
  removeProduct(storeId: string, productId: string): boolean {
    return this.transaction(() => {
      const removed = this.#db
        .prepare("DELETE FROM products WHERE product_id = ? AND store_id = ?")
        .run(productId, storeId);
      if (removed.changes === 0) return false;
      this.#add([ProductRemoved.create({ ...eventAttributes(storeId), data: { productId, storeId } })]);
      return true;
    });
  }
}

/**
 * Every catalog event's subject is its store: Herald keeps one store's events in one stream, so a
 * consumer sees a store created before its products, and a product's changes in order. The request's
 * trace goes along (`activeTrace`: none for the seed), so the consumers' copies join it.
 */
function eventAttributes(storeId: string, ids: ChangeIds = {}) {
  return { ...activeTrace(), id: ids.eventId ?? randomUUID(), subject: storeId };
}

function sameProduct(a: Product, b: Product): boolean {
  return a.name === b.name && a.description === b.description && a.sku === b.sku && a.price === b.price;
}
