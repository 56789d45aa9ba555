// The consumers of a pull subscription: long-poll requests waiting for messages, and long-lived
// streaming connections (SSE, WebSocket) with credit. They take ready entries from the window.
import type { DeliveryWindow, Entry } from "./window.js";

/** What a consumer receives. */
export interface Message {
  readonly ackId: string;
  readonly deliveryCount: number;
  readonly position: number;
  readonly stream: string;
  /** Event JSON, spliced as is into answers. */
  readonly eventJson: string;
}

export function messageJson(message: Message): string {
  return `{"ackId":${JSON.stringify(message.ackId)},"deliveryCount":${message.deliveryCount},"position":${message.position},"stream":${JSON.stringify(message.stream)},"event":${message.eventJson}}`;
}

/** A long-lived consumer (SSE or WebSocket connection). */
export interface StreamConsumer {
  /** Max unacked messages this consumer holds at once. */
  readonly credit: number;
  /** Auto-ack: the message counts as acked once written. */
  readonly autoAck: boolean;
  /** False while the connection is back-pressured. */
  writable(): boolean;
  send(message: Message): void;
  /** The subscription stops (update, delete, shutdown): end the connection. */
  close(reason: string): void;
}

interface Waiter {
  readonly max: number;
  readonly resolve: (messages: Message[]) => void;
  readonly timer: NodeJS.Timeout;
}

export class Consumers {
  readonly #window: DeliveryWindow;
  readonly #waiters: Waiter[] = [];
  /** Attached streaming consumers with the number of messages each holds. */
  readonly #streams = new Map<StreamConsumer, number>();

  constructor(window: DeliveryWindow) {
    this.#window = window;
  }

  get waiting(): boolean {
    return this.#waiters.length > 0 || this.#streams.size > 0;
  }

  /** Hands ready entries to waiting pulls first, then round-robin to streams within their credit. */
  handOut(now: number): void {
    if (!this.waiting) return;
    let capacity = this.#window.capacity;
    if (capacity <= 0) return;
    const candidates = this.#window.eligible(now, capacity);
    let next = 0;
    while (next < candidates.length && this.#waiters.length > 0) {
      const waiter = this.#waiters.shift()!;
      clearTimeout(waiter.timer);
      const batch = candidates.slice(next, next + waiter.max);
      next += batch.length;
      waiter.resolve(batch.map((entry) => this.#lease(entry, "pull", now)));
    }
    capacity -= next;
    // One message per consumer per turn, within each one's credit.
    let progressed = true;
    while (next < candidates.length && capacity > 0 && progressed) {
      progressed = false;
      for (const [consumer, held] of this.#streams) {
        if (next >= candidates.length || capacity <= 0) break;
        if (held >= consumer.credit || !consumer.writable()) continue;
        const entry = candidates[next++]!;
        capacity--;
        progressed = true;
        this.#streams.set(consumer, held + 1);
        const message = this.#lease(entry, consumer, now);
        consumer.send(message);
        if (consumer.autoAck) this.#window.ack([message.ackId]);
      }
    }
  }

  /** Long-poll: up to `max` messages, waiting up to `waitMs` for the first. */
  pull(max: number, waitMs: number, signal: AbortSignal | undefined, now: number): Promise<Message[]> {
    const ready = this.#window.eligible(now, Math.min(max, this.#window.capacity));
    if (ready.length > 0 || waitMs <= 0) {
      return Promise.resolve(ready.map((entry) => this.#lease(entry, "pull", now)));
    }
    return new Promise((resolve) => {
      const giveUp = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        clearTimeout(waiter.timer);
        signal?.removeEventListener("abort", giveUp);
        resolve([]);
      };
      const waiter: Waiter = {
        max,
        resolve: (messages) => {
          signal?.removeEventListener("abort", giveUp);
          resolve(messages);
        },
        timer: setTimeout(giveUp, waitMs),
      };
      signal?.addEventListener("abort", giveUp);
      this.#waiters.push(waiter);
    });
  }

  attach(consumer: StreamConsumer): void {
    this.#streams.set(consumer, 0);
  }

  /** A connection went away: the entries it held, to be failed by the caller. */
  detach(consumer: StreamConsumer): Entry[] {
    if (!this.#streams.delete(consumer)) return [];
    return this.#window.leased().filter((entry) => entry.holder === consumer);
  }

  /** A lease held by a streaming consumer ended. */
  released(holder: object): void {
    const held = this.#streams.get(holder as StreamConsumer);
    if (held !== undefined) this.#streams.set(holder as StreamConsumer, held - 1);
  }

  /** The subscription stops: pulls get an empty answer, connections are ended. */
  closeAll(reason: string): void {
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.resolve([]);
    }
    const streams = [...this.#streams.keys()];
    this.#streams.clear();
    for (const consumer of streams) consumer.close(reason);
  }

  #lease(entry: Entry, holder: "pull" | StreamConsumer, now: number): Message {
    const ackId = this.#window.lease(entry, holder, now);
    return {
      ackId,
      deliveryCount: entry.deliveryCount,
      position: entry.position,
      stream: entry.stream,
      eventJson: entry.json,
    };
  }
}
