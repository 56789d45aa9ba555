// MallBots Stores: the catalog service. Its own SQLite database, its HTTP API, and the outbox relay
// publishing every catalog change to Herald.
import {
  heraldClient,
  internalKeys,
  type MallbotsConfig,
  openServiceDatabase,
  type RunningService,
  SCOPES,
  startApp,
  startOutbox,
} from "@mallbots/contracts";
import { storesApi } from "./api.js";
import { Catalog } from "./catalog.js";
import { seedDemoMall } from "./seed.js";

export { Catalog, type ChangeIds, type ProductInput, type StoreInput } from "./catalog.js";
export { seedDemoMall } from "./seed.js";

export interface StoresOptions {
  /** Seed the demo mall into an empty database (default true; main.ts: MALLBOTS_SEED=0 turns it off). */
  readonly seed?: boolean;
}

export async function startStores(
  config: MallbotsConfig,
  options: StoresOptions = {},
): Promise<RunningService> {
  const db = openServiceDatabase(config, "stores");
  const client = heraldClient(config);
  const { outbox, relay } = startOutbox(db, client);
  const catalog = new Catalog(db, (events) => outbox.add(events));
  if (options.seed ?? true) seedDemoMall(catalog);
  return startApp({
    name: "stores",
    config,
    definitions: storesApi(catalog),
    client,
    // The internal key may also write the catalog (the gateway's admin calls); the admin key only writes.
    apiKeys: internalKeys(config, {
      [config.internalKey]: { subject: "mallbots-internal", scopes: [SCOPES.internal, SCOPES.catalogWrite] },
      [config.adminKey]: { subject: "mallbots-admin", scopes: [SCOPES.catalogWrite] },
    }),
    onStop: async () => {
      await relay.stop();
      db.close();
    },
  });
}
