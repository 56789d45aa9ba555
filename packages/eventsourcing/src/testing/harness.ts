// A projection harness for projectionSpec: a fresh in-memory SQLite database per specification, the
// events applied through the real backend (its SQL and its checkpoint), the read model read back with
// the caller's query against the projection's view.
import type { CloudEvent } from "@herald/cloudevents";
import type { Database } from "better-sqlite3";
import type { DomainEventOf, EventCatalog } from "../catalog.js";
import { catalogCodec } from "../catalog.js";
import type { ProjectionBackend } from "../projection/projector.js";
import { type SqliteProjection, sqliteProjection } from "../projection/sqlite.js";
import type { ProjectionHarness } from "./specification.js";

/** A domain event and the stream it belongs to. */
export type StreamedEvent<C extends EventCatalog> = DomainEventOf<C> & { readonly stream: string };

export function sqliteProjectionHarness<C extends EventCatalog, ReadModel>(
  openDatabase: () => Database,
  projection: SqliteProjection<C>,
  read: (db: Database) => ReadModel,
): ProjectionHarness<StreamedEvent<C>, ReadModel> {
  const codec = catalogCodec(projection.events);
  let db: Database | undefined;
  let backend: ProjectionBackend | undefined;
  let position = 0;
  let generation = 1;
  const versions = new Map<string, number>();
  return {
    async setup() {
      db = openDatabase();
      backend = sqliteProjection(db, projection);
      ({ generation, position } = await backend.open());
      versions.clear();
    },
    async apply(events) {
      const batch = events.map(({ stream, ...domain }) => {
        const version = (versions.get(stream) ?? -1) + 1;
        versions.set(stream, version);
        const event: CloudEvent = codec.encode(domain as DomainEventOf<C>, {
          source: "urn:herald:spec",
          subject: stream,
        });
        return { position: ++position, stream, version, recordedAt: Date.now(), event };
      });
      await backend!.applyBatch(generation, batch);
    },
    read: () => read(db!),
    teardown() {
      db?.close();
      db = undefined;
    },
  };
}
