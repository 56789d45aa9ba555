// The member-side half every transport shares: runs up to maxInFlight handlers, makes each message
// settle once, moves a message past maxDeliveries to the dead letters (publish, then ack: at least
// once into the dead letters, never dropped), and drains on close. A transport supplies how to ack,
// nack with a delay and dead-letter on its engine; the pool decides when.
import type { CloudEvent } from "@herald/cloudevents";
import { toError } from "../errors.js";
import type { DeadLetter } from "../middleware/dead-letter.js";
import type { MessageHandler, TransportMessage } from "./transport.js";

/** How one delivery is settled on the engine (called at most once per delivery by the pool). */
export interface EngineSettlement {
  ack(): Promise<void>;
  nack(delayMs: number): Promise<void>;
}

export interface DeliveryPoolOptions {
  readonly topic: string;
  readonly maxInFlight: number;
  /** Dead-letter after this many failed deliveries; undefined = the engine does it (or never). */
  readonly maxDeliveries?: number;
  /** Stores a dead letter durably (required with maxDeliveries). */
  readonly deadLetter?: (letter: DeadLetter) => Promise<void>;
  /**
   * Delay of the nack that hands back what is unsettled when drain() gives up (default 0). NATS needs
   * one longer than its pull requests live, or the server undoes the delivery and loses its count.
   */
  readonly handBackDelayMs?: number;
  /** Failures of settling (ack/nack lost: the engine will redeliver). */
  readonly onError?: (error: Error) => void;
}

export class DeliveryPool {
  readonly #handler: MessageHandler;
  readonly #options: DeliveryPoolOptions;
  readonly #running = new Map<Promise<void>, () => Promise<void>>();
  readonly #waiters: Array<() => void> = [];
  #closing = false;

  constructor(handler: MessageHandler, options: DeliveryPoolOptions) {
    this.#handler = handler;
    this.#options = options;
  }

  get inFlight(): number {
    return this.#running.size;
  }

  get free(): number {
    return Math.max(0, this.#options.maxInFlight - this.#running.size);
  }

  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Resolves when `min` slots are free (true; default 1) or the pool is closing (false). Fetching
   * once half the slots are free, rather than one at a time, saves a round trip per message.
   */
  async slot(min = 1): Promise<boolean> {
    const wanted = Math.min(Math.max(1, min), this.#options.maxInFlight);
    while (!this.#closing && this.free < wanted) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return !this.#closing;
  }

  /** Hands one delivery to the handler (call after slot() answered true). */
  deliver(event: CloudEvent, deliveryCount: number, engine: EngineSettlement): void {
    let settled: Promise<void> | undefined;
    const settle = (fn: () => Promise<void>): Promise<void> => {
      settled ??= fn().catch((error: unknown) => this.#options.onError?.(toError(error)));
      return settled;
    };
    const max = this.#options.maxDeliveries;
    const deadLetter = (error: Error, reason: DeadLetter["reason"]) =>
      settle(async () => {
        if (!this.#options.deadLetter) throw new Error("maxDeliveries without a deadLetter store");
        await this.#options.deadLetter({
          event,
          error,
          attempt: deliveryCount,
          reason,
          at: new Date().toISOString(),
        });
        await engine.ack();
      });
    const message: TransportMessage = {
      event,
      topic: this.#options.topic,
      deliveryCount,
      ack: () => settle(() => engine.ack()),
      nack: (options = {}) => {
        if (max !== undefined && deliveryCount >= max) {
          return deadLetter(options.error ?? new Error("nacked"), "max-deliveries");
        }
        return settle(() => engine.nack(Math.max(0, options.delayMs ?? 0)));
      },
      deadLetter: (error) =>
        this.#options.deadLetter === undefined
          ? settle(() => engine.nack(0))
          : deadLetter(error, "non-retryable"),
    };
    const handBack = () => settle(() => engine.nack(0));
    const handBackOnClose = () => settle(() => engine.nack(this.#options.handBackDelayMs ?? 0));
    let run: Promise<void>;
    if (max !== undefined && deliveryCount > max) {
      // Delivered past the limit without a settlement (members crashed or timed out on it).
      run = deadLetter(new Error(`delivered ${deliveryCount} times without being settled`), "max-deliveries");
    } else {
      run = Promise.resolve()
        .then(() => this.#handler(message))
        .then(
          // A handler that returns without settling: hand the message back rather than lose it.
          () => handBack(),
          (error: unknown) => message.nack({ error: toError(error) }),
        );
    }
    const tracked = run.finally(() => {
      this.#running.delete(tracked);
      // Every waiter re-checks its own minimum.
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.#running.set(tracked, handBackOnClose);
  }

  /**
   * Stops taking deliveries, waits up to `drainMs` for running handlers, then hands back (nack 0) what
   * is still unsettled and waits for those nacks.
   */
  async drain(drainMs: number): Promise<void> {
    this.#closing = true;
    for (const wake of this.#waiters.splice(0)) wake();
    if (this.#running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainMs);
    });
    await Promise.race([Promise.all(this.#running.keys()), timeout]);
    clearTimeout(timer);
    await Promise.all([...this.#running.values()].map((handBack) => handBack()));
  }
}
