// MallBots Depot: shopping tasks for the bots and pickup at the counter. Its own SQLite database
// (tasks, bots, a copy of the catalog), the HTTP API the gateway calls, the Herald sources of the
// configured flow, and two outbox relays (immediate events, and the scheduled deadline timers).
import {
  heraldClient,
  type MallbotsConfig,
  openServiceDatabase,
  type RunningService,
  startApp,
  startOutbox,
} from "@mallbots/contracts";
import { depotApi } from "./api.js";
import { CatalogCopy } from "./catalog-copy.js";
import { Depot } from "./depot.js";
import { catalogSources, flowSources } from "./flow.js";
import { startTimerOutbox } from "./timer-outbox.js";

export { CatalogCopy } from "./catalog-copy.js";
export { type AddEvents, Depot, type DepotOptions, type TaskFilter, taskIdOf } from "./depot.js";
export { BOT_STATUS, type BotStatus, BotTask, BotView, TaskView } from "./views.js";

export async function startDepot(config: MallbotsConfig): Promise<RunningService> {
  const db = openServiceDatabase(config, "depot");
  const client = heraldClient(config);
  const immediate = startOutbox(db, client);
  const timers = startTimerOutbox(db, client);
  const catalog = new CatalogCopy(db);
  const depot = new Depot({
    db,
    catalog,
    outbox: (events) => immediate.outbox.add(events),
    timers: (events) => timers.outbox.add(events),
    botTimeoutMs: config.botTimeoutMs,
  });
  const close = async () => {
    await Promise.all([immediate.relay.stop(), timers.relay.stop()]);
    db.close();
  };
  try {
    return await startApp({
      name: "depot",
      config,
      definitions: [
        ...depotApi(depot),
        ...catalogSources(depot, catalog),
        ...flowSources(depot, config.flow),
      ],
      client,
      onStop: close,
    });
  } catch (error) {
    // Herald unreachable, the port taken: leave nothing running behind.
    await close();
    await client.close();
    throw error;
  }
}
