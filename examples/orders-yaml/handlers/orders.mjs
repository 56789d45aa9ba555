// Handlers of the YAML orders service: plain ES modules, as a service ships them.
import { randomUUID } from "node:crypto";

const billed = new Set();

/** POST /orders: publish the order, answer its id once Herald stored it. */
export async function place({ body }, ctx) {
  const id = randomUUID();
  const sent = await ctx.client.send({
    specversion: "1.0",
    id,
    source: "/orders-service",
    type: "com.example.order.placed",
    data: { id, ...body },
  });
  if (sent.kind !== "ack") throw new Error(`Herald did not take the order (${sent.kind})`);
  return { status: 202, body: { id } };
}

/** GET /orders/:id */
export function status({ params }) {
  return { status: 200, body: { id: params.id, billed: billed.has(params.id) } };
}

/** herald.orders-billing: one placed order. */
export function bill(event) {
  billed.add(event.data.id);
}

/** cron: nightly report. */
export function report() {
  process.stderr.write(`${billed.size} orders billed\n`);
}
