import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { type EventLog, openSqliteLog } from "@herald/log";
import { eventLogContract } from "@herald/log/testing";

const dir = mkdtempSync(join(tmpdir(), "herald-log-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

for (const durability of ["full", "normal"] as const) {
  eventLogContract(
    `sqlite (${durability})`,
    {
      create: async () => {
        count += 1;
        const path = join(dir, `log-${count}.db`);
        const log = openSqliteLog({ path, durability, retentionIntervalMs: 0 });
        const reopen = async (): Promise<EventLog> => {
          await log.close();
          return openSqliteLog({ path, durability, retentionIntervalMs: 0 });
        };
        return { log, reopen };
      },
    },
    { reopen: true },
  );
}

// The same contract with the stream index merging its memory tier to disk after every few events,
// in steps of two entries, so every read and write also meets a stream split across both tiers.
eventLogContract(
  "sqlite (stream index merging constantly)",
  {
    create: async () => {
      count += 1;
      const path = join(dir, `log-${count}.db`);
      const options = { path, retentionIntervalMs: 0, streamIndexMergeLag: 3, streamIndexMergeStep: 2 };
      const log = openSqliteLog(options);
      const reopen = async (): Promise<EventLog> => {
        await log.close();
        return openSqliteLog(options);
      };
      return { log, reopen };
    },
  },
  { reopen: true },
);
