import { openPostgresLog } from "@herald/log-postgres";
import { eventLogContract } from "@herald/log/testing";
import { test } from "node:test";
import { connection, freshSchema, needsPostgres, postgresUp } from "./support/pg.js";

const options = { connection, retentionIntervalMs: 0, pollIntervalMs: 200 };

if (postgresUp)
  eventLogContract(
    "postgres",
    {
      create: async () => {
        const schema = freshSchema();
        let log = await openPostgresLog({ ...options, schema });
        return {
          log,
          reopen: async () => {
            await log.close();
            log = await openPostgresLog({ ...options, schema });
            return log;
          },
        };
      },
    },
    { reopen: true },
  );
else test("EventLog contract: postgres", needsPostgres, () => {});
