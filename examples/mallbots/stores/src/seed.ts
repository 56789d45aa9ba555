// The demo mall, written into an empty catalog through the API's own code path, so its events leave
// through the outbox like any other change.
import { DEMO_PRODUCTS, DEMO_STORES } from "@mallbots/contracts";
import type { Catalog } from "./catalog.js";

/**
 * Seeds DEMO_STORES and DEMO_PRODUCTS when the catalog is empty; true when it did. One transaction:
 * a crash mid-seed leaves nothing, and the next start seeds again. The event ids are fixed, so even a
 * seed of a lost database publishes nothing new (Herald keeps one event per source+id in its dedupe
 * window).
 */
export function seedDemoMall(catalog: Catalog): boolean {
  return catalog.transaction(() => {
    if (!catalog.isEmpty()) return false;
    for (const { storeId, ...store } of DEMO_STORES)
      catalog.createStore(store, { id: storeId, eventId: `seed:${storeId}` });
    for (const { productId, storeId, ...product } of DEMO_PRODUCTS)
      catalog.addProduct(storeId, product, { id: productId, eventId: `seed:${productId}` });
    return true;
  });
}
