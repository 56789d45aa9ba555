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

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** With a filter, one read scans at most this many positions, so a rare match cannot block the loop for long. */
const FILTERED_SCAN_LIMIT = 5000;

export class CatchUpSubscription implements LogSubscription {
  readonly #read: PageReader;
  readonly #signal: HeadSignal;
  readonly #filter: EventPredicate | undefined;
  readonly #batchSize: number;
  readonly #scanLimit: number;
  #after: number;
  #closed = false;
  #cancelWait: (() => void) | undefined;

  constructor(read: PageReader, signal: HeadSignal, options: SubscribeOptions) {
    this.#read = read;
    this.#signal = signal;
    this.#filter = options.filter;
    this.#batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.#after = options.after;
    this.#scanLimit = this.#filter === undefined ? Number.POSITIVE_INFINITY : FILTERED_SCAN_LIMIT;
  }

  /** The position of the last event delivered (or the starting `after`). */
  get position(): number {
    return this.#after;
  }

  close(): void {
    this.#closed = true;
    this.#cancelWait?.();
  }

  /**
   * A hand-written iterator rather than an async generator: events of the current batch are handed
   * out as already-resolved promises, which costs far less per event than a generator's yield.
   */
  [Symbol.asyncIterator](): AsyncIterator<StoredEvent> {
    let batch: readonly StoredEvent[] = [];
    let index = 0;
    let batchNext = this.#after;
    let finished = false;
    const done = (): IteratorResult<StoredEvent> => {
      finished = true;
      return { value: undefined, done: true };
    };
    let readBefore = false;
    const refill = async (): Promise<IteratorResult<StoredEvent>> => {
      if (batchNext > this.#after) this.#after = batchNext;
      while (!finished && !this.#stopped()) {
        // Reads complete synchronously and events are handed out as resolved promises, so a long
        // catch-up would otherwise run entirely in microtasks and starve I/O: yield between batches.
        if (readBefore) await yieldToEventLoop();
        readBefore = true;
        if (finished || this.#stopped()) break;
        let page: ReadPage;
        try {
          page = await this.#read(this.#after, this.#batchSize, this.#filter, this.#scanLimit);
        } catch (error) {
          if (error instanceof LogClosedError) return done();
          throw error;
        }
        if (finished || this.#stopped()) break;
        const first = page.events[0];
        if (first !== undefined) {
          batch = page.events;
          index = 1;
          batchNext = page.next;
          this.#after = first.position;
          return { value: first, done: false };
        }
        if (page.next > this.#after) this.#after = page.next;
        if (this.#after >= this.#signal.head) {
          const wait = this.#signal.wait(this.#after);
          this.#cancelWait = wait.cancel;
          await wait.promise;
          this.#cancelWait = undefined;
          readBefore = false;
        }
      }
      return done();
    };
    // A caller may ask for the next event before the previous read finished: it waits its turn.
    let refilling: Promise<IteratorResult<StoredEvent>> | undefined;
    const iterator: AsyncIterator<StoredEvent> = {
      next: (): Promise<IteratorResult<StoredEvent>> => {
        if (refilling !== undefined) return refilling.then(() => iterator.next());
        if (finished || this.#stopped()) return Promise.resolve(done());
        const value = batch[index];
        if (value === undefined) {
          refilling = refill().finally(() => {
            refilling = undefined;
          });
          return refilling;
        }
        index += 1;
        this.#after = value.position;
        return Promise.resolve({ value, done: false });
      },
      return: (): Promise<IteratorResult<StoredEvent>> => Promise.resolve(done()),
    };
    return iterator;
  }

  #stopped(): boolean {
    return this.#closed || this.#signal.closed;
  }
}
