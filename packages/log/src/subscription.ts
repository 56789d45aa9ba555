// Catch-up + live subscription shared by all backends. It never buffers beyond one batch:
// it reads the log in batches until it reaches the head, then waits for the commit signal and
// reads again from the last delivered position. Because every delivery comes from a read
// "after the last delivered position", the switch from catch-up to live can neither skip nor
// repeat an event, however appends race it.
import { LogClosedError } from "./errors.js";
import type {
  EventPredicate,
  LogSubscription,
  ReadPage,
  StoredEvent,
  SubscribeOptions,
} from "./event-log.js";
import type { HeadSignal } from "./head-signal.js";

export type PageReader = (
  after: number,
  limit: number,
  filter: EventPredicate | undefined,
  scanLimit: number,
) => Promise<ReadPage>;

const DEFAULT_BATCH_SIZE = 500;
/** With a filter, one read scans at most this many positions, so a rare match cannot block the loop for long. */
const FILTERED_SCAN_LIMIT = 5000;

export class CatchUpSubscription implements LogSubscription {
  readonly #read: PageReader;
  readonly #signal: HeadSignal;
  readonly #filter: EventPredicate | undefined;
  readonly #batchSize: number;
  #after: number;
  #closed = false;
  #cancelWait: (() => void) | undefined;

  constructor(read: PageReader, signal: HeadSignal, options: SubscribeOptions) {
    this.#read = read;
    this.#signal = signal;
    this.#filter = options.filter;
    this.#batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.#after = options.after;
  }

  /** The position of the last event delivered (or the starting `after`). */
  get position(): number {
    return this.#after;
  }

  close(): void {
    this.#closed = true;
    this.#cancelWait?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<StoredEvent, void, undefined> {
    const scanLimit = this.#filter === undefined ? Number.POSITIVE_INFINITY : FILTERED_SCAN_LIMIT;
    while (!this.#stopped()) {
      let page: ReadPage;
      try {
        page = await this.#read(this.#after, this.#batchSize, this.#filter, scanLimit);
      } catch (error) {
        if (error instanceof LogClosedError) return;
        throw error;
      }
      for (const stored of page.events) {
        if (this.#stopped()) return;
        this.#after = stored.position;
        yield stored;
      }
      if (this.#stopped()) return;
      if (page.next > this.#after) this.#after = page.next;
      if (page.events.length === 0 && this.#after >= this.#signal.head) {
        const wait = this.#signal.wait(this.#after);
        this.#cancelWait = wait.cancel;
        await wait.promise;
        this.#cancelWait = undefined;
      }
    }
  }

  #stopped(): boolean {
    return this.#closed || this.#signal.closed;
  }
}
