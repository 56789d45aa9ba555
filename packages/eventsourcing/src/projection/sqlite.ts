// Read models in SQLite (better-sqlite3): the projection's writes and the checkpoint in one
// transaction of the read-model database.
import { inboxKey, sqliteInboxIn, type TransactionalInboxOptions } from "@herald/sdk";
import type { Database } from "better-sqlite3";
import { type CatalogCodec, catalogCodec, type DomainEventOf, type EventCatalog } from "../catalog.js";
import { UnreadableEventError } from "../errors.js";
import type { ProjectionBackend } from "./projector.js";
import type { ProjectionEvent } from "./source.js";
import {
  ACTIVE_TABLE,
  CHECKPOINTS_TABLE,
  checkProjectionName,
  generationTable,
  LOG_TABLE,
} from "./tables.js";

export interface SqliteProjection<C extends EventCatalog> {
  /** Also the name of the view to query. */
  readonly name: string;
  /** The events it reads; others only move the checkpoint. */
  readonly events: C;
  /** Creates the read model's table `table` (already quoted; a new name per generation). */
  createTable(db: Database, table: string): void;
  /** Applies one event (inside the batch's transaction: do not commit or open one). */
  apply(db: Database, table: string, event: DomainEventOf<C>, meta: ProjectionEvent): void;
}

export interface SqliteProjectionOptions {
  /**
   * The SDK's inbox in the batch's transaction: an event whose source+id this generation already
   * applied (at another position: a copy stored again past the log's dedupe window, a republish
   * after a restore) is skipped, exactly once. Records are kept `ttlMs` (default 7 days).
   */
  readonly inbox?: boolean | TransactionalInboxOptions;
}

/** The prefix of a generation's inbox keys. */
export function inboxScope(name: string, generation: number): string {
  return `projection/${name}/g${generation}/`;
}

/** The projection's backend on `db` (the caller owns the connection). */
export function sqliteProjection<C extends EventCatalog>(
  db: Database,
  projection: SqliteProjection<C>,
  options: SqliteProjectionOptions = {},
): ProjectionBackend {
  checkProjectionName(projection.name);
  const name = projection.name;
  const codec: CatalogCodec<DomainEventOf<C>> = catalogCodec(projection.events);
  const inbox =
    options.inbox === undefined || options.inbox === false
      ? undefined
      : sqliteInboxIn(db, options.inbox === true ? {} : options.inbox);
  db.exec(`CREATE TABLE IF NOT EXISTS ${CHECKPOINTS_TABLE} (
      name TEXT NOT NULL, generation INTEGER NOT NULL, position INTEGER NOT NULL, updated_at INTEGER NOT NULL,
      PRIMARY KEY (name, generation));
    CREATE TABLE IF NOT EXISTS ${ACTIVE_TABLE} (name TEXT PRIMARY KEY, generation INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS ${LOG_TABLE} (name TEXT PRIMARY KEY, log_id TEXT NOT NULL, log_epoch TEXT NOT NULL);`);
  const readStamp = db.prepare<[string], { log_id: string; log_epoch: string }>(
    `SELECT log_id, log_epoch FROM ${LOG_TABLE} WHERE name = ?`,
  );
  const writeStamp = db.prepare(
    `INSERT INTO ${LOG_TABLE} (name, log_id, log_epoch) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET log_id = excluded.log_id, log_epoch = excluded.log_epoch`,
  );
  const readCheckpoint = db.prepare<[string, number], { position: number }>(
    `SELECT position FROM ${CHECKPOINTS_TABLE} WHERE name = ? AND generation = ?`,
  );
  const writeCheckpoint = db.prepare(
    `INSERT INTO ${CHECKPOINTS_TABLE} (name, generation, position, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (name, generation) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
  );
  const activeOf = db.prepare<[string], { generation: number }>(
    `SELECT generation FROM ${ACTIVE_TABLE} WHERE name = ?`,
  );

  const prepare = db.transaction((generation: number) => {
    const table = generationTable(name, generation);
    db.exec(`DROP TABLE IF EXISTS ${table}`);
    projection.createTable(db, table);
    writeCheckpoint.run(name, generation, 0, Date.now());
  });
  const showView = (generation: number) => {
    db.exec(
      `DROP VIEW IF EXISTS "${name}"; CREATE VIEW "${name}" AS SELECT * FROM ${generationTable(name, generation)}`,
    );
  };
  const open = db.transaction(() => {
    const active = activeOf.get(name);
    const stamp = readStamp.get(name);
    const log = stamp === undefined ? {} : { log: { id: stamp.log_id, epoch: stamp.log_epoch } };
    if (active !== undefined)
      return {
        generation: active.generation,
        position: readCheckpoint.get(name, active.generation)?.position ?? 0,
        ...log,
      };
    prepare(1);
    db.prepare(`INSERT INTO ${ACTIVE_TABLE} (name, generation) VALUES (?, ?)`).run(name, 1);
    showView(1);
    return { generation: 1, position: 0 };
  });
  const applyBatch = db.transaction((generation: number, events: readonly ProjectionEvent[]) => {
    const table = generationTable(name, generation);
    // Re-read inside the transaction: another projector of the same name may have moved it on.
    const checkpoint = readCheckpoint.get(name, generation)?.position ?? 0;
    let position = checkpoint;
    for (const e of events) {
      if (e.position <= checkpoint) continue;
      position = e.position;
      if (inbox !== undefined && !inbox.firstTime(inboxScope(name, generation) + inboxKey(e.event))) continue;
      if (codec.knows(e.event)) projection.apply(db, table, decode(codec, e), e);
    }
    if (position > checkpoint) writeCheckpoint.run(name, generation, position, Date.now());
  });
  const swap = db.transaction((from: number, to: number) => {
    showView(to);
    db.prepare(`UPDATE ${ACTIVE_TABLE} SET generation = ? WHERE name = ?`).run(to, name);
    db.exec(`DROP TABLE IF EXISTS ${generationTable(name, from)}`);
    db.prepare(`DELETE FROM ${CHECKPOINTS_TABLE} WHERE name = ? AND generation = ?`).run(name, from);
    inbox?.forget(inboxScope(name, from));
  });
  // A generation being prepared starts with no inbox records (leftovers of an interrupted rebuild).
  const prepareFresh = (generation: number) => {
    prepare(generation);
    inbox?.forget(inboxScope(name, generation));
  };
  return {
    name,
    open: async () => open(),
    applyBatch: async (generation, events) => applyBatch(generation, events),
    prepare: async (generation) => prepareFresh(generation),
    stampLog: async (stamp) => {
      writeStamp.run(name, stamp.id, stamp.epoch);
    },
    swap: async (from, to) => swap(from, to),
  };
}

export function decode<E>(codec: CatalogCodec<E & { type: string; data: unknown }>, e: ProjectionEvent): E {
  try {
    return codec.decode(e.event);
  } catch (error) {
    throw new UnreadableEventError(e.stream, e.version, (error as Error).message, { cause: error });
  }
}
