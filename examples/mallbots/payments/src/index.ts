// MallBots Payments: authorizations and captures in its own SQLite database, driven by the saga's
// commands (orchestrated) or by the Orders events (choreography); answers leave through the outbox.
import { sqliteInboxIn } from "@herald/sdk";
import {
  heraldClient,
  type MallbotsConfig,
  openServiceDatabase,
  type RunningService,
  startApp,
  startOutbox,
} from "@mallbots/contracts";
import { Payments } from "./payments.js";
import { paymentSources } from "./sources.js";

export {
  type Authorization,
  Payment,
  PAYMENT_STATUS,
  type PaymentStatus,
  Payments,
  refusalOf,
} from "./payments.js";
export { paymentSources } from "./sources.js";

export async function startPayments(config: MallbotsConfig): Promise<RunningService> {
  const db = openServiceDatabase(config, "payments");
  const client = heraldClient(config);
  const { outbox, relay } = startOutbox(db, client);
  const inbox = sqliteInboxIn(db);
  inbox.sweep(); // records past their time to live (7 days)
  const payments = new Payments({
    db,
    inbox,
    outbox: (events) => outbox.add(events),
    limit: config.paymentLimit,
  });
  return startApp({
    name: "payments",
    config,
    definitions: paymentSources(config.flow, payments),
    client,
    onStop: async () => {
      await relay.stop();
      db.close();
    },
  });
}
