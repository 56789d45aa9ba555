// Checkpoints and metadata of the in-memory log.
import { checkNonNegativeInteger } from "../append-rules.js";
import type { CheckpointStore, MetadataStore } from "../event-log.js";

/** Code-unit order, the same order SQLite's BINARY collation gives for these strings. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class MemoryCheckpoints implements CheckpointStore {
  readonly #positions = new Map<string, number>();
  readonly #checkOpen: () => void;
  constructor(checkOpen: () => void) {
    this.#checkOpen = checkOpen;
  }
  async load(group: string): Promise<number | undefined> {
    this.#checkOpen();
    return this.#positions.get(group);
  }
  async store(group: string, position: number): Promise<void> {
    this.#checkOpen();
    checkNonNegativeInteger("position", position);
    this.#positions.set(group, position);
  }
  async delete(group: string): Promise<void> {
    this.#checkOpen();
    this.#positions.delete(group);
  }
  async list(): Promise<ReadonlyArray<{ readonly group: string; readonly position: number }>> {
    this.#checkOpen();
    return [...this.#positions]
      .sort(([a], [b]) => compareNames(a, b))
      .map(([group, position]) => ({ group, position }));
  }
}

export class MemoryMetadata implements MetadataStore {
  readonly #values = new Map<string, string>();
  readonly #checkOpen: () => void;
  constructor(checkOpen: () => void) {
    this.#checkOpen = checkOpen;
  }
  async get(key: string): Promise<string | undefined> {
    this.#checkOpen();
    return this.#values.get(key);
  }
  async set(key: string, value: string): Promise<void> {
    this.#checkOpen();
    this.#values.set(key, value);
  }
  async delete(key: string): Promise<void> {
    this.#checkOpen();
    this.#values.delete(key);
  }
  async list(prefix: string): Promise<ReadonlyArray<{ readonly key: string; readonly value: string }>> {
    this.#checkOpen();
    return [...this.#values]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => compareNames(a, b))
      .map(([key, value]) => ({ key, value }));
  }
}
