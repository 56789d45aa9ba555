// A worked example: an order service on Herald and its own PostgreSQL.
//   - Orders are event-sourced: a decider, its commands handled against `herald serve`.
//   - A projection keeps an order summary (the query side) in the service's PostgreSQL.
//   - Customers are plain state in PostgreSQL; registering one writes the row and its event in one
//     transaction (the outbox), and a relay publishes it to Herald as an integration event.
import {
  CommandHandler,
  type Decider,
  type DomainEventOf,
  DomainError,
  heraldPublisher,
  heraldSource,
  heraldStore,
  OutboxRelay,
  type PostgresProjection,
  Projector,
  postgresOutbox,
  postgresProjection,
} from "@herald/eventsourcing";
import { defineEvent, type HeraldClient } from "@herald/sdk";
import { Type } from "@sinclair/typebox";
import type pg from "pg";

// ---- events ----
const OrderPlaced = defineEvent({
  type: "shop.order.placed",
  schema: Type.Object({ customer: Type.String() }),
});
const ItemAdded = defineEvent({
  type: "shop.order.item-added",
  schema: Type.Object({ sku: Type.String(), quantity: Type.Integer({ minimum: 1 }) }),
});
const OrderShipped = defineEvent({ type: "shop.order.shipped", schema: Type.Object({}) });
const CustomerRegistered = defineEvent({
  type: "shop.customer.registered",
  schema: Type.Object({ id: Type.String(), name: Type.String(), email: Type.String() }),
});
const orderEvents = {
  "shop.order.placed": OrderPlaced,
  "shop.order.item-added": ItemAdded,
  "shop.order.shipped": OrderShipped,
};
type OrderEvent = DomainEventOf<typeof orderEvents>;

// ---- the order aggregate ----
export type OrderCommand =
  | { type: "place"; customer: string }
  | { type: "add"; sku: string; quantity: number }
  | { type: "ship" };
type OrderState = { status: "none" | "open" | "shipped"; items: number };

export const orderDecider: Decider<OrderCommand, OrderState, OrderEvent> = {
  initialState: () => ({ status: "none", items: 0 }),
  decide(command, state) {
    if (command.type === "place")
      return state.status === "none"
        ? [{ type: "shop.order.placed", data: { customer: command.customer } }]
        : [];
    if (state.status !== "open") throw new DomainError("order-not-open", `the order is ${state.status}`);
    if (command.type === "add")
      return [{ type: "shop.order.item-added", data: { sku: command.sku, quantity: command.quantity } }];
    if (state.items === 0) throw new DomainError("order-empty", "nothing to ship");
    return [{ type: "shop.order.shipped", data: {} }];
  },
  evolve(state, event) {
    if (event.type === "shop.order.placed") return { status: "open", items: 0 };
    if (event.type === "shop.order.item-added") return { ...state, items: state.items + event.data.quantity };
    return { ...state, status: "shipped" };
  },
};

// ---- the read model ----
const orderSummary: PostgresProjection<typeof orderEvents> = {
  name: "order_summary",
  events: orderEvents,
  async createTable(client, table) {
    await client.query(
      `CREATE TABLE ${table} (id text PRIMARY KEY, customer text, items integer, status text)`,
    );
  },
  async apply(client, table, event, { stream }) {
    if (event.type === "shop.order.placed")
      await client.query(`INSERT INTO ${table} VALUES ($1, $2, 0, 'open')`, [stream, event.data.customer]);
    else if (event.type === "shop.order.item-added")
      await client.query(`UPDATE ${table} SET items = items + $2 WHERE id = $1`, [
        stream,
        event.data.quantity,
      ]);
    else await client.query(`UPDATE ${table} SET status = 'shipped' WHERE id = $1`, [stream]);
  },
};

export interface OrderSummary {
  id: string;
  customer: string;
  items: number;
  status: string;
}

export async function startOrderService(herald: HeraldClient, pool: pg.Pool, schema: string) {
  const orders = new CommandHandler({
    decider: orderDecider,
    events: orderEvents,
    store: heraldStore(herald),
    source: "urn:shop:orders",
  });
  const projector = new Projector({
    backend: postgresProjection(pool, orderSummary, { schema }),
    source: heraldSource(herald, { pollIntervalMs: 50 }),
  });
  await projector.start();

  const outbox = postgresOutbox(pool, { schema });
  await outbox.migrate();
  await pool.query(
    `CREATE TABLE IF NOT EXISTS "${schema}".customers (id text PRIMARY KEY, name text, email text)`,
  );
  const relay = new OutboxRelay({
    store: outbox.store,
    publish: heraldPublisher(herald),
    pollIntervalMs: 50,
    // Other services learn that a customer exists, not their e-mail address.
    map: (event) =>
      event.cloneWith({
        type: "shop.integration.customer-registered",
        data: { id: (event.data as { id: string }).id },
      }),
  });
  relay.start();

  return {
    /** Commands on an order (its stream is `order-<id>`). */
    handle: (id: string, command: OrderCommand) => orders.handle(`order-${id}`, command),
    /** The query API: reads the projection's view. */
    async getOrder(id: string): Promise<OrderSummary | undefined> {
      const r = await pool.query<OrderSummary>(`SELECT * FROM "${schema}".order_summary WHERE id = $1`, [
        `order-${id}`,
      ]);
      return r.rows[0];
    },
    /** Waits until the read model includes everything Herald holds now. */
    async caughtUp(): Promise<void> {
      const { position, events } = await projector.lag();
      await projector.waitFor(position + events);
    },
    /** State and event in one transaction of the service's database. */
    async registerCustomer(id: string, name: string, email: string): Promise<void> {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        await client.query(`INSERT INTO "${schema}".customers VALUES ($1, $2, $3)`, [id, name, email]);
        await outbox.add(client, [
          CustomerRegistered.create({ source: "urn:shop:customers", subject: id, data: { id, name, email } }),
        ]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      } finally {
        client.release();
      }
    },
    outboxPending: () => outbox.store.pending(),
    async stop(): Promise<void> {
      await relay.stop();
      await projector.stop();
    },
  };
}
