// Analytics: the service that joins late. Nothing else knows it exists: it reads Herald's log from
// position 0 (a Projector over heraldSource), keeps its own read model and checkpoint in its own
// SQLite database, and answers the figures. Started after a hundred orders, or with its database
// deleted, it arrives at the same figures, because they are a fold of the log.
import { heraldSource, Projector, sqliteProjection } from "@herald/eventsourcing";
import { defineEventSource } from "@herald/service";
import {
  heraldClient,
  internalKeys,
  type MallbotsConfig,
  openServiceDatabase,
  type RunningService,
  SCOPES,
  startApp,
} from "@mallbots/contracts";
import { Type } from "@sinclair/typebox";
import { Day, days, Figures, figures } from "./figures.js";
import { orderFacts } from "./projection.js";

export { Figures, figures } from "./figures.js";
export { ORDER_FACTS, orderFacts } from "./projection.js";

export interface RunningAnalytics extends RunningService {
  /** The projector (tests and operators: lag(), rebuild()). */
  readonly projector: Projector;
}

/** The staff page and the services may read the figures. */
const mayRead = (_input: unknown, ctx: { principal: { scopes: readonly string[] } }) =>
  ctx.principal.scopes.includes(SCOPES.internal) || ctx.principal.scopes.includes(SCOPES.staff);

export async function startAnalytics(config: MallbotsConfig): Promise<RunningAnalytics> {
  const client = heraldClient(config);
  const db = openServiceDatabase(config, "analytics");
  const projector = new Projector({
    backend: sqliteProjection(db, orderFacts, { inbox: true }),
    source: heraldSource(client, { pollIntervalMs: 100 }),
    // A log restored from an older backup (or another log): count again from the beginning.
    onStaleCheckpoint: "rebuild",
    onError: (error) => console.error(`analytics projector stopped: ${String(error)}`),
  });

  const definitions = [
    defineEventSource({
      trigger: "http.get./figures",
      summary: "Order figures, overall or for one day (UTC)",
      input: { query: Type.Object({ day: Type.Optional(Day) }) },
      output: { 200: Figures },
      authorize: mayRead,
      handler: ({ query }) => ({ status: 200, body: figures(db, query.day) }),
    }),
    defineEventSource({
      trigger: "http.get./figures/daily",
      summary: "The figures of every day on which something happened",
      output: {
        200: Type.Object({ days: Type.Array(Type.Intersect([Type.Object({ day: Day }), Figures])) }),
      },
      authorize: mayRead,
      handler: () => ({ status: 200, body: { days: days(db).map((day) => ({ day, ...figures(db, day) })) } }),
    }),
    defineEventSource({
      trigger: "http.get./lag",
      summary: "How far the figures are behind the log",
      output: {
        200: Type.Object({
          position: Type.Integer(),
          events: Type.Integer(),
          exact: Type.Boolean(),
          seconds: Type.Number(),
        }),
      },
      authorize: mayRead,
      handler: async () => ({ status: 200, body: await projector.lag() }),
    }),
    defineEventSource({
      trigger: "http.post./rebuild",
      summary: "Project the figures again from the beginning (blue/green: the old ones answer meanwhile)",
      output: { 200: Type.Object({ generation: Type.Integer() }) },
      auth: { scopes: [SCOPES.internal] },
      handler: async () => {
        await projector.rebuild();
        return { status: 200, body: { generation: projector.generation ?? 0 } };
      },
    }),
  ];

  await projector.start();
  let service: RunningService;
  try {
    service = await startApp({
      name: "analytics",
      config,
      client,
      definitions,
      apiKeys: internalKeys(config, { [config.staffKey]: { subject: "staff", scopes: [SCOPES.staff] } }),
      onStop: async () => {
        await projector.stop();
        db.close();
      },
    });
  } catch (error) {
    await projector.stop();
    db.close();
    await client.close();
    throw error;
  }
  return { ...service, projector };
}
