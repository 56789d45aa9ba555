// Checkpoints and metadata of the PostgreSQL log: one upserted row per group / key.
import { type CheckpointStore, checkNonNegativeInteger, type MetadataStore } from "@herald/log/backend";
import type pg from "pg";

export class PostgresCheckpoints implements CheckpointStore {
  readonly #pool: pg.Pool;
  readonly #s: string;
  readonly #checkOpen: () => void;
  constructor(pool: pg.Pool, schema: string, checkOpen: () => void) {
    this.#pool = pool;
    this.#s = schema;
    this.#checkOpen = checkOpen;
  }
  async load(group: string): Promise<number | undefined> {
    this.#checkOpen();
    const result = await this.#pool.query<{ position: string }>(
      `SELECT position FROM ${this.#s}.checkpoints WHERE grp = $1`,
      [group],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : Number(row.position);
  }
  async store(group: string, position: number): Promise<void> {
    this.#checkOpen();
    checkNonNegativeInteger("position", position);
    await this.#pool.query(
      `INSERT INTO ${this.#s}.checkpoints (grp, position) VALUES ($1, $2)
       ON CONFLICT (grp) DO UPDATE SET position = excluded.position`,
      [group, position],
    );
  }
  async delete(group: string): Promise<void> {
    this.#checkOpen();
    await this.#pool.query(`DELETE FROM ${this.#s}.checkpoints WHERE grp = $1`, [group]);
  }
  async list(): Promise<ReadonlyArray<{ readonly group: string; readonly position: number }>> {
    this.#checkOpen();
    const result = await this.#pool.query<{ grp: string; position: string }>(
      `SELECT grp, position FROM ${this.#s}.checkpoints ORDER BY grp`,
    );
    return result.rows.map((row) => ({ group: row.grp, position: Number(row.position) }));
  }
}

export class PostgresMetadata implements MetadataStore {
  readonly #pool: pg.Pool;
  readonly #s: string;
  readonly #checkOpen: () => void;
  constructor(pool: pg.Pool, schema: string, checkOpen: () => void) {
    this.#pool = pool;
    this.#s = schema;
    this.#checkOpen = checkOpen;
  }
  async get(key: string): Promise<string | undefined> {
    this.#checkOpen();
    const result = await this.#pool.query<{ value: string }>(
      `SELECT value FROM ${this.#s}.metadata WHERE key = $1`,
      [key],
    );
    return result.rows[0]?.value;
  }
  async set(key: string, value: string): Promise<void> {
    this.#checkOpen();
    await this.#pool.query(
      `INSERT INTO ${this.#s}.metadata (key, value) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [key, value],
    );
  }
  async delete(key: string): Promise<void> {
    this.#checkOpen();
    await this.#pool.query(`DELETE FROM ${this.#s}.metadata WHERE key = $1`, [key]);
  }
  async list(prefix: string): Promise<ReadonlyArray<{ readonly key: string; readonly value: string }>> {
    this.#checkOpen();
    const result = await this.#pool.query<{ key: string; value: string }>(
      `SELECT key, value FROM ${this.#s}.metadata WHERE starts_with(key, $1) ORDER BY key`,
      [prefix],
    );
    return result.rows;
  }
}
