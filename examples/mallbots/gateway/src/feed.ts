// Fan-out of what the gateway sees (the MallBots events of its Herald subscription, and its own bot
// connections) to every open stream: each stream gets its own bounded queue, read as an async
// iterator that ends when its signal aborts or its return() is called.
import { RetryableError } from "@herald/sdk";

/** Items a stream may hold unread; past that the stream ends (the page resubscribes: a new snapshot). */
const MAX_QUEUED = 1_000;

export class Feed<T> {
  readonly #listeners = new Set<(item: T) => void>();

  /** Hands `item` to every open stream (each filters what it takes). */
  publish(item: T): void {
    for (const listener of this.#listeners) listener(item);
  }

  /** Open streams (tests wait on it). */
  get size(): number {
    return this.#listeners.size;
  }

  /**
   * The items published from now on (those `accept` takes), until `signal` aborts or return() is
   * called. Registered at once, not at the first next(): a caller that fetches a snapshot first
   * misses nothing in between (it may see an item twice: once in the snapshot, once here).
   */
  subscribe(signal: AbortSignal, accept: (item: T) => boolean = () => true): AsyncIterableIterator<T> {
    const queue: T[] = [];
    let overflowed = false;
    let wake: (() => void) | undefined;
    const listeners = this.#listeners;
    const listener = (item: T) => {
      if (!accept(item)) return;
      if (queue.length >= MAX_QUEUED) overflowed = true;
      else queue.push(item);
      wake?.();
    };
    const close = () => {
      listeners.delete(listener);
      signal.removeEventListener("abort", close);
      wake?.();
    };
    listeners.add(listener);
    if (signal.aborted) close();
    else signal.addEventListener("abort", close, { once: true });
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
    const iterator: AsyncIterableIterator<T> = {
      async next(): Promise<IteratorResult<T>> {
        for (;;) {
          const item = queue.shift();
          if (item !== undefined) return { done: false, value: item };
          if (!listeners.has(listener)) return done;
          if (overflowed) {
            close();
            throw new RetryableError("the stream fell behind: subscribe again");
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      },
      async return(): Promise<IteratorResult<T>> {
        close();
        queue.length = 0;
        return done;
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }
}
