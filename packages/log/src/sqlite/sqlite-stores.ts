// Checkpoints and metadata in SQLite. Writes go through the log's group commit, so they are
// durable (and ordered with appends) when their promise resolves.
import type Database from "better-sqlite3";
import { checkNonNegativeInteger } from "../append-rules.js";
import type { CheckpointStore, MetadataStore } from "../event-log.js";
import { prefixUpperBound } from "../retention.js";
import type { WriteGroup } from "./write-group.js";

export type Enqueue = <T>(apply: (group: WriteGroup) => T) => Promise<T>;

export class SqliteCheckpoints implements CheckpointStore {
  readonly #enqueue: Enqueue;
  readonly #checkOpen: () => void;
  readonly #load: Database.Statement<[string], { position: number }>;
  readonly #store: Database.Statement<[string, number]>;
  readonly #delete: Database.Statement<[string]>;
  readonly #list: Database.Statement<[], { group: string; position: number }>;

  constructor(db: Database.Database, enqueue: Enqueue, checkOpen: () => void) {
    this.#enqueue = enqueue;
    this.#checkOpen = checkOpen;
    this.#load = db.prepare("SELECT position FROM checkpoints WHERE consumer_group = ?");
    this.#store = db.prepare(
      `INSERT INTO checkpoints (consumer_group, position) VALUES (?, ?)
       ON CONFLICT (consumer_group) DO UPDATE SET position = excluded.position`,
    );
    this.#delete = db.prepare("DELETE FROM checkpoints WHERE consumer_group = ?");
    this.#list = db.prepare(
      'SELECT consumer_group AS "group", position FROM checkpoints ORDER BY consumer_group',
    );
  }

  async load(group: string): Promise<number | undefined> {
    this.#checkOpen();
    return this.#load.get(group)?.position;
  }

  async store(group: string, position: number): Promise<void> {
    checkNonNegativeInteger("position", position);
    await this.#enqueue(() => this.#store.run(group, position));
  }

  async delete(group: string): Promise<void> {
    await this.#enqueue(() => this.#delete.run(group));
  }

  async list(): Promise<ReadonlyArray<{ readonly group: string; readonly position: number }>> {
    this.#checkOpen();
    return this.#list.all();
  }
}

export class SqliteMetadata implements MetadataStore {
  readonly #enqueue: Enqueue;
  readonly #checkOpen: () => void;
  readonly #get: Database.Statement<[string], { value: string }>;
  readonly #set: Database.Statement<[string, string]>;
  readonly #delete: Database.Statement<[string]>;
  readonly #list: Database.Statement<[{ low: string; high: string | null }], { key: string; value: string }>;

  constructor(db: Database.Database, enqueue: Enqueue, checkOpen: () => void) {
    this.#enqueue = enqueue;
    this.#checkOpen = checkOpen;
    this.#get = db.prepare("SELECT value FROM metadata WHERE key = ?");
    this.#set = db.prepare(
      "INSERT INTO metadata (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    );
    this.#delete = db.prepare("DELETE FROM metadata WHERE key = ?");
    this.#list = db.prepare(
      "SELECT key, value FROM metadata WHERE key >= @low AND (@high IS NULL OR key < @high) ORDER BY key",
    );
  }

  async get(key: string): Promise<string | undefined> {
    this.#checkOpen();
    return this.#get.get(key)?.value;
  }

  async set(key: string, value: string): Promise<void> {
    if (typeof value !== "string") throw new TypeError("metadata values are strings");
    await this.#enqueue(() => this.#set.run(key, value));
  }

  async delete(key: string): Promise<void> {
    await this.#enqueue(() => this.#delete.run(key));
  }

  async list(prefix: string): Promise<ReadonlyArray<{ readonly key: string; readonly value: string }>> {
    this.#checkOpen();
    return this.#list.all({ low: prefix, high: prefix === "" ? null : (prefixUpperBound(prefix) ?? null) });
  }
}
