// #region main
import { HeraldClient } from "@herald/sdk";
import { askPrice, placeOrder, startFanOut, startPricing, startWorkers } from "./app.js";

const client = new HeraldClient({ url: process.env.HERALD_URL ?? "http://127.0.0.1:8080" });

const consumers = [
  ...(await startFanOut(
    client,
    async (order) => console.log(`billing: invoice for ${order.orderId} (${order.total})`),
    async (order) => console.log(`shipping: label for ${order.orderId}`),
  )),
  ...(await startWorkers(client, async (worker, order) => console.log(`${worker}: packed ${order.orderId}`))),
  await startPricing(client),
];

for (let i = 1; i <= 4; i++) {
  const position = await placeOrder(client, { orderId: `order-${i}`, total: 10 * i });
  console.log(`placed order-${i} at position ${position}`);
}
console.log(`price of sku-42: ${await askPrice(client, "sku-42")} cents`);

await new Promise((resolve) => setTimeout(resolve, 1_000)); // let the consumers catch up
await Promise.all(consumers.map((consumer) => consumer.stop())); // finishes in-flight handlers
await client.close();
// #endregion main
