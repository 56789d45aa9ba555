// The demo mall: what Stores seeds into an empty database (fixed ids, so the README, the tests and
// a user's curl lines can name them). Prices are cents.
import type { Product, Store } from "./events.js";

export const DEMO_STORES: readonly Store[] = [
  { storeId: "store-greengrocer", name: "The Greengrocer", location: "Level 1, east wing" },
  { storeId: "store-bookshop", name: "Pages & Co.", location: "Level 2, north wing" },
  { storeId: "store-tools", name: "Bolt Hardware", location: "Level 0, by the car park" },
];

export const DEMO_PRODUCTS: readonly Product[] = [
  {
    productId: "prod-apples",
    storeId: "store-greengrocer",
    name: "Apples (1 kg)",
    description: "Crisp, local",
    sku: "GG-001",
    price: 349,
  },
  {
    productId: "prod-pears",
    storeId: "store-greengrocer",
    name: "Pears (1 kg)",
    description: "Ripe today",
    sku: "GG-002",
    price: 399,
  },
  {
    productId: "prod-tea",
    storeId: "store-greengrocer",
    name: "Green tea",
    description: "50 bags",
    sku: "GG-010",
    price: 575,
  },
  {
    productId: "prod-novel",
    storeId: "store-bookshop",
    name: "A long novel",
    description: "Paperback",
    sku: "PC-100",
    price: 1299,
  },
  {
    productId: "prod-atlas",
    storeId: "store-bookshop",
    name: "World atlas",
    description: "Hardback",
    sku: "PC-200",
    price: 3450,
  },
  {
    productId: "prod-hammer",
    storeId: "store-tools",
    name: "Claw hammer",
    description: "16 oz",
    sku: "BH-010",
    price: 1895,
  },
  {
    productId: "prod-drill",
    storeId: "store-tools",
    name: "Cordless drill",
    description: "18 V, two batteries",
    sku: "BH-500",
    price: 64900,
  },
];
