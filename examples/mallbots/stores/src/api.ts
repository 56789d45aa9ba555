// The Stores HTTP API as event sources: input and output schemas for every route and status, so the
// app validates both ways and documents it at /openapi.json.
import { notFound, Problem, Product, SCOPES, Store } from "@mallbots/contracts";
import { defineEventSource, type EventSourceDefinition, http } from "@herald/service";
import { Type } from "@sinclair/typebox";
import type { Catalog } from "./catalog.js";

const StoreBody = Type.Omit(Store, ["storeId"], { additionalProperties: false });
const ProductBody = Type.Omit(Product, ["productId", "storeId"], { additionalProperties: false });
const StoreParams = Type.Object({ storeId: Type.String() });
const ProductParams = Type.Object({ storeId: Type.String(), productId: Type.String() });

/** Writes need catalog:write (the admin key; the internal key has it too), reads mallbots:internal. */
const write = { scopes: [SCOPES.catalogWrite] };
const read = { scopes: [SCOPES.internal] };

const noStore = (storeId: string) => notFound(`no store ${storeId}`);
const noProduct = (storeId: string, productId: string) =>
  notFound(`no product ${productId} in store ${storeId}`);

export function storesApi(catalog: Catalog): EventSourceDefinition[] {
  return [
    defineEventSource({
      trigger: http.post("/stores"),
      summary: "Create a store",
      input: { body: StoreBody },
      output: { 201: Store },
      auth: write,
      handler: ({ body }) => ({ status: 201, body: catalog.createStore(body) }),
    }),
    defineEventSource({
      trigger: http.get("/stores"),
      summary: "List the stores",
      output: { 200: Type.Array(Store) },
      auth: read,
      handler: () => ({ status: 200, body: catalog.stores() }),
    }),
    defineEventSource({
      trigger: http.get("/stores/:storeId"),
      summary: "One store",
      input: { params: StoreParams },
      output: { 200: Store, 404: Problem },
      auth: read,
      handler: ({ params }) => {
        const store = catalog.store(params.storeId);
        return store ? { status: 200, body: store } : noStore(params.storeId);
      },
    }),
    defineEventSource({
      trigger: http.get("/stores/:storeId/products"),
      summary: "A store's products",
      input: { params: StoreParams },
      output: { 200: Type.Array(Product), 404: Problem },
      auth: read,
      handler: ({ params }) => {
        const products = catalog.products(params.storeId);
        return products ? { status: 200, body: products } : noStore(params.storeId);
      },
    }),
    defineEventSource({
      trigger: http.post("/stores/:storeId/products"),
      summary: "Add a product to a store",
      input: { params: StoreParams, body: ProductBody },
      output: { 201: Product, 404: Problem },
      auth: write,
      handler: ({ params, body }) => {
        const product = catalog.addProduct(params.storeId, body);
        return product ? { status: 201, body: product } : noStore(params.storeId);
      },
    }),
    defineEventSource({
      trigger: http.put("/stores/:storeId/products/:productId"),
      summary: "Replace a product's details (publishes the full product)",
      input: { params: ProductParams, body: ProductBody },
      output: { 200: Product, 404: Problem },
      auth: write,
      handler: ({ params, body }) => {
        const product = catalog.updateProduct(params.storeId, params.productId, body);
        return product ? { status: 200, body: product } : noProduct(params.storeId, params.productId);
      },
    }),
    defineEventSource({
      trigger: http.delete("/stores/:storeId/products/:productId"),
      summary: "Remove a product",
      input: { params: ProductParams },
      output: { 204: Type.Unknown({ description: "no body" }), 404: Problem },
      auth: write,
      handler: ({ params }) =>
        catalog.removeProduct(params.storeId, params.productId)
          ? { status: 204, body: undefined }
          : noProduct(params.storeId, params.productId),
    }),
  ];
}
