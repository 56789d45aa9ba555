// At most `limit` handlers of this stack run at once; the rest wait in FIFO order.
import type { Middleware } from "../handler.js";

export class Semaphore {
  #free: number;
  readonly #waiting: Array<() => void> = [];
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`concurrency limit must be an integer ≥ 1, got ${limit}`);
    this.#free = limit;
  }
  get waiting(): number {
    return this.#waiting.length;
  }
  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}

export function concurrencyLimit(limit: number): Middleware {
  const semaphore = new Semaphore(limit);
  return async (_event, _ctx, next) => {
    await semaphore.acquire();
    try {
      return await next();
    } finally {
      semaphore.release();
    }
  };
}
