// `herald serve` as one transport like the others, over the existing HeraldClient: publish is
// POST /events (resolves once the broker appended the events), a group is a pull subscription
// (id `<topic>.<group>`, started at the beginning of the log) that its members long-poll, ack and
// nack. The topic travels with each event as the `heraldtopic` extension attribute (the log has no
// topics; the subscription filters on it) and is removed again on delivery. Per-key ordering and
// dead letters are the broker's own (`ordering: key` on the event's stream, which is its
// partitionkey; `maxDeliveries` moves an event to `$deadletter-<subscription id>`).
import type { CloudEvent } from "@herald/cloudevents";
import { SUBSCRIPTION_CONFIG_DEFAULTS } from "@herald/protocol";
import { backoffDelay, sleep } from "../backoff.js";
import type { HeraldClient } from "../client/client.js";
import { SendFailedError } from "../client/send-result.js";
import { HeraldApiError, toError } from "../errors.js";
import { DeliveryPool } from "./delivery-pool.js";
import {
  type MessageHandler,
  TRANSPORT_DEFAULTS,
  type Transport,
  type TransportCapabilities,
  type TransportSubscribeOptions,
  type TransportSubscription,
} from "./transport.js";

/** The extension attribute carrying an event's topic through the Herald log. */
export const HERALD_TOPIC_ATTRIBUTE = "heraldtopic";

export interface HeraldTransportOptions {
  /** Long-poll wait per pull (default 500 ms): also the longest close() waits for a pull to return. */
  readonly waitMs?: number;
  /** Failures that belong to no handler (pull, ack, nack). Default: console.warn. */
  readonly onError?: (error: Error) => void;
}

/** The subscription id of a group on a topic. */
export function heraldSubscriptionId(topic: string, group: string): string {
  const id = `${topic}.${group}`.replace(/[^A-Za-z0-9._~-]/g, "_");
  return /^[A-Za-z0-9]/.test(id) ? id.slice(0, 128) : `t${id}`.slice(0, 128);
}

export class HeraldTransport implements Transport {
  readonly name = "herald";
  readonly capabilities: TransportCapabilities = {
    keyOrdering: true,
    nackDelay: true,
    deadLetter: true,
    durablePublish: true,
  };
  readonly client: HeraldClient;
  readonly #waitMs: number;
  readonly #onError: (error: Error) => void;
  readonly #subscriptions = new Set<TransportSubscription>();

  constructor(client: HeraldClient, options: HeraldTransportOptions = {}) {
    this.client = client;
    this.#waitMs = options.waitMs ?? 500;
    this.#onError = options.onError ?? ((error) => console.warn(`[herald] transport: ${error.message}`));
  }

  publish(topic: string, event: CloudEvent): Promise<void> {
    return this.publishBatch(topic, [event]);
  }

  async publishBatch(topic: string, events: readonly CloudEvent[]): Promise<void> {
    if (events.length === 0) return;
    const result = await this.client.sendBatch(
      events.map((e) => e.cloneWith({ [HERALD_TOPIC_ATTRIBUTE]: topic })),
    );
    if (!result.ok) throw new SendFailedError(result);
  }

  async subscribe(
    options: TransportSubscribeOptions,
    handler: MessageHandler,
  ): Promise<TransportSubscription> {
    const id = heraldSubscriptionId(options.topic, options.group);
    await this.client.ensureSubscription(
      {
        id,
        filters: [{ exact: { [HERALD_TOPIC_ATTRIBUTE]: options.topic } }],
        config: {
          start: "beginning",
          ordering: options.ordered === true ? "key" : "none",
          // The broker's limit is the whole group's; each member limits itself (DeliveryPool).
          maxInFlight: Math.max(SUBSCRIPTION_CONFIG_DEFAULTS.maxInFlight, options.maxInFlight ?? 0),
          ackTimeoutMs: options.ackTimeoutMs ?? TRANSPORT_DEFAULTS.ackTimeoutMs,
          maxDeliveries: options.maxDeliveries ?? TRANSPORT_DEFAULTS.maxDeliveries,
        },
      },
      { onDifference: "update" },
    );
    const subscription = new HeraldGroupMember(this.client, id, options, handler, {
      waitMs: this.#waitMs,
      onError: this.#onError,
      forget: (s) => this.#subscriptions.delete(s),
    });
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
  }
}

class HeraldGroupMember implements TransportSubscription {
  readonly topic: string;
  readonly group: string;
  readonly closed: Promise<void>;
  readonly #client: HeraldClient;
  readonly #id: string;
  readonly #pool: DeliveryPool;
  readonly #waitMs: number;
  readonly #maxInFlight: number;
  readonly #onError: (error: Error) => void;
  readonly #forget: (s: TransportSubscription) => void;
  readonly #loop: Promise<void>;
  #acks: Array<{ ackId: string; done: () => void }> = [];
  #ackFlush: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #resolveClosed!: () => void;

  constructor(
    client: HeraldClient,
    id: string,
    options: TransportSubscribeOptions,
    handler: MessageHandler,
    settings: { waitMs: number; onError: (error: Error) => void; forget: (s: TransportSubscription) => void },
  ) {
    this.topic = options.topic;
    this.group = options.group;
    this.#client = client;
    this.#id = id;
    this.#waitMs = settings.waitMs;
    this.#onError = settings.onError;
    this.#forget = settings.forget;
    this.#maxInFlight = options.maxInFlight ?? TRANSPORT_DEFAULTS.maxInFlight;
    // maxDeliveries is the broker's: the pool only runs handlers and settles once.
    this.#pool = new DeliveryPool(handler, {
      topic: options.topic,
      maxInFlight: this.#maxInFlight,
      onError: settings.onError,
    });
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#loop = this.#pullLoop();
  }

  close(options: { readonly drainMs?: number } = {}): Promise<void> {
    this.#closing ??= (async () => {
      const drained = this.#pool.drain(options.drainMs ?? TRANSPORT_DEFAULTS.drainMs);
      await this.#loop;
      await drained;
      await this.#flushAcks();
      this.#forget(this);
      this.#resolveClosed();
    })();
    return this.#closing;
  }

  async #pullLoop(): Promise<void> {
    let failures = 0;
    while (await this.#pool.slot(Math.ceil(this.#maxInFlight / 2))) {
      let messages: Awaited<ReturnType<HeraldClient["pull"]>>;
      try {
        messages = await this.#client.pull(this.#id, { max: this.#pool.free, waitMs: this.#waitMs });
        failures = 0;
      } catch (error) {
        this.#onError(toError(error));
        if (error instanceof HeraldApiError && error.status === 404) return;
        failures++;
        await sleep(backoffDelay(failures, { baseMs: 100, capMs: 5_000 }));
        continue;
      }
      if (this.#pool.closing) {
        // Pulled while closing: hand them straight back.
        await this.#nack(
          messages.map((m) => m.ackId),
          0,
        );
        return;
      }
      for (const m of messages) {
        const event = m.event.cloneWith({ [HERALD_TOPIC_ATTRIBUTE]: undefined });
        this.#pool.deliver(event, m.deliveryCount, {
          ack: () => this.#queueAck(m.ackId),
          nack: (delayMs) => this.#nack([m.ackId], delayMs),
        });
      }
    }
  }

  async #nack(ackIds: string[], delayMs: number): Promise<void> {
    try {
      await this.#client.nack(this.#id, ackIds, delayMs);
    } catch (error) {
      // The ack deadline redelivers it anyway.
      this.#onError(toError(error));
    }
  }

  // Acks settled in the same tick go out in one request; each ack() resolves once it was sent.
  #queueAck(ackId: string): Promise<void> {
    return new Promise<void>((done) => {
      this.#acks.push({ ackId, done });
      this.#ackFlush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.#ackFlush = undefined;
        return this.#sendAcks();
      });
    });
  }

  async #flushAcks(): Promise<void> {
    await this.#ackFlush;
    await this.#sendAcks();
  }

  async #sendAcks(): Promise<void> {
    const batch = this.#acks;
    if (batch.length === 0) return;
    this.#acks = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await this.#client.ack(
          this.#id,
          batch.map((a) => a.ackId),
        );
        break;
      } catch (error) {
        if (attempt === 3) this.#onError(toError(error));
        else await sleep(backoffDelay(attempt, { baseMs: 50, capMs: 500 }));
      }
    }
    for (const a of batch) a.done();
  }
}
