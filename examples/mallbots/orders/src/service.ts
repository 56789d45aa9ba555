// Orders: the order as an event-sourced decider in its own event store, the read model and the
// integration events from one projection (read model + outbox + checkpoint in one transaction of
// orders.db), the catalog copy from Stores' events, and the flow's commands or events from Herald.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { eventLogSource, Projector, sqliteProjection } from "@herald/eventsourcing";
import { openSqliteLog } from "@herald/log";
import {
  heraldClient,
  type MallbotsConfig,
  openServiceDatabase,
  type RunningService,
  startApp,
  startOutbox,
} from "@mallbots/contracts";
import { apiSources } from "./api.js";
import { catalogSources, openCatalog } from "./catalog.js";
import { orderCommands } from "./commands.js";
import { flowSources } from "./flow.js";
import { orderQueries, ordersProjection } from "./read-model.js";

export async function startOrders(config: MallbotsConfig): Promise<RunningService> {
  const eventsDir = join(config.dataDir, "orders", "events");
  mkdirSync(eventsDir, { recursive: true });
  const log = openSqliteLog({ path: join(eventsDir, "log.db") });
  const db = openServiceDatabase(config, "orders");
  const client = heraldClient(config);
  const { outbox, relay } = startOutbox(db, client);
  const projector = new Projector({
    backend: sqliteProjection(db, ordersProjection(outbox.add), { inbox: true }),
    source: eventLogSource(log),
    onError: (error) => console.error(`orders projection stopped: ${String(error)}`),
  });
  const close = async () => {
    await projector.stop();
    await relay.stop();
    db.close();
    await log.close();
  };
  try {
    await projector.start();
    const catalog = openCatalog(db);
    const commands = orderCommands(log);
    return await startApp({
      name: "orders",
      config,
      client,
      definitions: [
        ...apiSources(catalog, commands, orderQueries(db)),
        ...catalogSources(catalog),
        ...flowSources(config, commands),
      ],
      onStop: close,
    });
  } catch (error) {
    await close();
    await client.close();
    throw error;
  }
}
