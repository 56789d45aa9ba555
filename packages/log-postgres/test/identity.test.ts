// The log's identity across pg_dump / pg_restore: the restored database is the same log in a new
// epoch that starts at the head it holds; reopening the original is not a new epoch.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openPostgresLog } from "@herald/log-postgres";
import { dumpAndRestore, freshDatabase, needsPostgres } from "@herald/log-postgres/testing";
import { checkpointStaleness } from "@herald/log";
import { testEvent } from "@herald/log/testing";

const options = { retentionIntervalMs: 0, pollIntervalMs: 200, schema: "herald" };

describe("log identity (PostgreSQL)", needsPostgres, () => {
  it("pg_dump + pg_restore gives the same log id, a new epoch at the backup's head", async () => {
    const db = await freshDatabase("herald_ident");
    const live = await openPostgresLog({ ...options, connection: { connectionString: db.url } });
    await live.append([testEvent(), testEvent(), testEvent(), testEvent()]);
    const first = await live.identity();
    const restored = await dumpAndRestore(db.name);
    await live.append([testEvent(), testEvent()]);
    await live.close();

    const again = await openPostgresLog({ ...options, connection: { connectionString: db.url } });
    assert.deepEqual(await again.identity(), first, "the original database: the same epoch");
    await again.close();

    const copy = await openPostgresLog({ ...options, connection: { connectionString: restored.url } });
    const identity = await copy.identity();
    assert.equal(identity.id, first.id);
    assert.notEqual(identity.epoch, first.epoch);
    assert.equal(identity.previousEpoch, first.epoch);
    assert.equal(identity.epochStart, 4);
    assert.equal(await copy.headPosition(), 4);
    assert.equal(checkpointStaleness(first, 6, identity, 4), "ahead");
    assert.equal(checkpointStaleness(first, 4, identity, 4), undefined);
    await copy.close();
    // Several instances opening the restored copy agree on one epoch.
    const [a, b] = await Promise.all([
      openPostgresLog({ ...options, connection: { connectionString: restored.url } }),
      openPostgresLog({ ...options, connection: { connectionString: restored.url } }),
    ]);
    assert.deepEqual(await a.identity(), identity);
    assert.deepEqual(await b.identity(), identity);
    await Promise.all([a.close(), b.close()]);
  });
});
