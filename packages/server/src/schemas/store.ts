// Where the registry keeps its versions: the log's metadata store, so every backend (memory, SQLite,
// PostgreSQL) holds them beside the events, a restart finds them, and a cluster shares them.
//   schema/<type>/<version, 10 digits>  → {"schema": …, "registeredAt": "…"}
//   schema-config/<type>                → {"compatibility": "…"}
// The type is percent-encoded so that one type's prefix never lists another's versions.
import type { EventLog } from "@herald/log";
import type { CompatibilityMode } from "@herald/protocol";
import type { JsonSchema } from "./compatibility.js";

const VERSION_PREFIX = "schema/";
const CONFIG_PREFIX = "schema-config/";

export interface StoredSchema {
  readonly type: string;
  readonly version: number;
  readonly schema: JsonSchema;
  readonly registeredAt: string;
}

export class SchemaStore {
  constructor(private readonly log: EventLog) {}

  /** Every version of one type, oldest first. */
  async versions(type: string): Promise<StoredSchema[]> {
    const rows = await this.log.metadata.list(`${VERSION_PREFIX}${encodeURIComponent(type)}/`);
    return rows.map((row) => parse(row.key, row.value)).sort((a, b) => a.version - b.version);
  }

  /** Every version of every type. */
  async all(): Promise<StoredSchema[]> {
    const rows = await this.log.metadata.list(VERSION_PREFIX);
    return rows.map((row) => parse(row.key, row.value)).sort((a, b) => a.version - b.version);
  }

  async add(stored: StoredSchema): Promise<void> {
    const key = `${VERSION_PREFIX}${encodeURIComponent(stored.type)}/${String(stored.version).padStart(10, "0")}`;
    await this.log.metadata.set(
      key,
      JSON.stringify({ schema: stored.schema, registeredAt: stored.registeredAt }),
    );
  }

  async modes(): Promise<Map<string, CompatibilityMode>> {
    const rows = await this.log.metadata.list(CONFIG_PREFIX);
    return new Map(
      rows.map((row) => [
        decodeURIComponent(row.key.slice(CONFIG_PREFIX.length)),
        (JSON.parse(row.value) as { compatibility: CompatibilityMode }).compatibility,
      ]),
    );
  }

  async mode(type: string): Promise<CompatibilityMode | undefined> {
    const value = await this.log.metadata.get(`${CONFIG_PREFIX}${encodeURIComponent(type)}`);
    return value === undefined
      ? undefined
      : (JSON.parse(value) as { compatibility: CompatibilityMode }).compatibility;
  }

  async setMode(type: string, mode: CompatibilityMode | null): Promise<void> {
    const key = `${CONFIG_PREFIX}${encodeURIComponent(type)}`;
    if (mode === null) await this.log.metadata.delete(key);
    else await this.log.metadata.set(key, JSON.stringify({ compatibility: mode }));
  }
}

function parse(key: string, value: string): StoredSchema {
  const rest = key.slice(VERSION_PREFIX.length);
  const slash = rest.lastIndexOf("/");
  const body = JSON.parse(value) as { schema: JsonSchema; registeredAt: string };
  return {
    type: decodeURIComponent(rest.slice(0, slash)),
    version: Number(rest.slice(slash + 1)),
    schema: body.schema,
    registeredAt: body.registeredAt,
  };
}
