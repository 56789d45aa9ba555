// Herald's transport over Redis Streams (ioredis). A topic is a stream key (`herald:<topic>`); a group
// is a consumer group on it (created at the stream's start); each member is a consumer of its own
// name. New messages come from a blocking XREADGROUP; messages whose member died or timed out (idle
// past ackTimeoutMs in the pending list) are taken over with XAUTOCLAIM, which also counts the
// deliveries (read back from XPENDING). ack is XACK. nack(delay) keeps the message pending and sets
// its idle time to `ackTimeoutMs - delay` (XCLAIM … IDLE … JUSTID): XAUTOCLAIM picks it up once the
// delay has passed, and a crash meanwhile loses nothing, since the message never leaves the pending
// list. So a nack delay is at most ackTimeoutMs (longer ones are capped). Dead letters are the SDK's
// DeliveryPool's: after maxDeliveries a `herald.deadletter` event is XADDed to `<key>:deadletter`,
// then the original is acked. Redis has no CloudEvents binding: an event's stream entry is laid out
// as the NATS binding lays out a message (its headers as fields, its payload as the `data` field),
// binary mode by default, structured on request.
import { randomUUID } from "node:crypto";
import { type CloudEvent, decodeNats, encodeNats } from "@herald/cloudevents";
import {
  type ContentMode,
  DeliveryPool,
  deadLetterEvent,
  type MessageHandler,
  TRANSPORT_DEFAULTS,
  type Transport,
  type TransportCapabilities,
  TransportCapabilityError,
  type TransportSubscribeOptions,
  type TransportSubscription,
} from "@herald/sdk";
import { Redis, type RedisOptions } from "ioredis";

export interface RedisTransportOptions {
  /** Redis URL (default redis://127.0.0.1:6379); ignored when `connection` is given. */
  readonly url?: string;
  /** Extra ioredis options. */
  readonly redis?: RedisOptions;
  /** An open connection to use for commands (the transport then leaves it open on close()). */
  readonly connection?: Redis;
  /** Binding mode of published events (default "binary"). */
  readonly contentMode?: ContentMode;
  /** Stream key of a topic (default `herald:<topic>`). */
  readonly streamKey?: (topic: string) => string;
  /** How often each member looks for messages to take over or retry (default 100 ms). */
  readonly claimIntervalMs?: number;
  /** Failures that belong to no handler. Default: console.warn. */
  readonly onError?: (error: Error) => void;
}

export function connectRedisTransport(options: RedisTransportOptions = {}): RedisTransport {
  return new RedisTransport(options);
}

type Entry = [id: Buffer, fields: Buffer[]];

export class RedisTransport implements Transport {
  readonly name = "redis";
  readonly capabilities: TransportCapabilities = {
    keyOrdering: false,
    nackDelay: true,
    deadLetter: true,
    durablePublish: true,
  };
  readonly redis: Redis;
  readonly #options: RedisTransportOptions;
  readonly #owned: boolean;
  readonly #mode: ContentMode;
  readonly #streamKey: (topic: string) => string;
  readonly #onError: (error: Error) => void;
  readonly #subscriptions = new Set<RedisGroupMember>();

  constructor(options: RedisTransportOptions = {}) {
    this.#options = options;
    this.#owned = options.connection === undefined;
    this.redis =
      options.connection ?? new Redis(options.url ?? "redis://127.0.0.1:6379", options.redis ?? {});
    this.#mode = options.contentMode ?? "binary";
    this.#streamKey = options.streamKey ?? ((topic) => `herald:${topic}`);
    this.#onError =
      options.onError ?? ((error) => console.warn(`[herald] redis transport: ${error.message}`));
  }

  streamKeyOf(topic: string): string {
    return this.#streamKey(topic);
  }

  deadLetterKeyOf(topic: string): string {
    return `${this.#streamKey(topic)}:deadletter`;
  }

  async publish(topic: string, event: CloudEvent): Promise<void> {
    await this.#xadd(this.#streamKey(topic), event);
  }

  async publishBatch(topic: string, events: readonly CloudEvent[]): Promise<void> {
    if (events.length === 0) return;
    // MULTI/EXEC: the batch is stored in order, all or nothing; EXEC answers once Redis has it.
    const key = this.#streamKey(topic);
    const multi = this.redis.multi();
    for (const event of events) multi.xadd(key, "*", ...fields(event, this.#mode));
    const results = await multi.exec();
    for (const [error] of results ?? []) if (error) throw error;
  }

  /** The `herald.deadletter` events stored for `topic` (every group's; `data.consumer` names the group). */
  async deadLetters(topic: string): Promise<CloudEvent[]> {
    const entries = (await this.redis.callBuffer("XRANGE", this.deadLetterKeyOf(topic), "-", "+")) as Entry[];
    return entries.map(([, f]) => decodeEntry(f));
  }

  async subscribe(
    options: TransportSubscribeOptions,
    handler: MessageHandler,
  ): Promise<TransportSubscription> {
    if (options.ordered === true)
      throw new TransportCapabilityError(
        "the Redis transport does not keep per-key order under retries (capabilities.keyOrdering is false)",
      );
    const key = this.#streamKey(options.topic);
    await createGroup(this.redis, key, options.group);
    const member = new RedisGroupMember(this.redis, key, options, handler, {
      claimIntervalMs: this.#options.claimIntervalMs ?? 100,
      deadLetter: (event) => this.#xadd(this.deadLetterKeyOf(options.topic), event),
      onError: this.#onError,
      forget: (m) => this.#subscriptions.delete(m),
    });
    this.#subscriptions.add(member);
    return member;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    if (this.#owned) await this.redis.quit();
  }

  async #xadd(key: string, event: CloudEvent): Promise<void> {
    await this.redis.xadd(key, "*", ...fields(event, this.#mode));
  }
}

/** Creates the group at the stream's start (and the stream), unless it exists. */
async function createGroup(redis: Redis, key: string, group: string): Promise<void> {
  try {
    await redis.xgroup("CREATE", key, group, "0", "MKSTREAM");
  } catch (error) {
    if (!String(error).includes("BUSYGROUP")) throw error;
  }
}

/**
 * A Redis that lost its data (restarted without persistence, flushed, failed over to an empty
 * replica) answers NOGROUP: the member creates the group again at the stream's start and goes on.
 */
function lostGroup(error: unknown): boolean {
  return String(error).includes("NOGROUP");
}

/** An event as stream fields: the NATS binding's headers, then its payload as `data`. */
function fields(event: CloudEvent, mode: ContentMode): Array<string | Buffer> {
  const message = encodeNats(event, mode, { withHeaders: true });
  const out: Array<string | Buffer> = [];
  for (const [name, value] of Object.entries(message.headers ?? {})) out.push(name, value);
  out.push("data", typeof message.data === "string" ? message.data : Buffer.from(message.data));
  return out;
}

function decodeEntry(f: readonly Buffer[]): CloudEvent {
  const headers: Record<string, string> = {};
  let data: Uint8Array = new Uint8Array();
  for (let i = 0; i + 1 < f.length; i += 2) {
    const name = f[i]!.toString();
    if (name === "data") data = new Uint8Array(f[i + 1]!);
    else headers[name] = f[i + 1]!.toString();
  }
  return decodeNats({ headers, data });
}

interface MemberWiring {
  claimIntervalMs: number;
  deadLetter(event: CloudEvent): Promise<void>;
  onError(error: Error): void;
  forget(member: RedisGroupMember): void;
}

class RedisGroupMember implements TransportSubscription {
  readonly topic: string;
  readonly group: string;
  readonly closed: Promise<void>;
  readonly #redis: Redis;
  readonly #blocking: Redis;
  readonly #key: string;
  readonly #consumer = randomUUID();
  readonly #ackTimeoutMs: number;
  readonly #maxInFlight: number;
  readonly #pool: DeliveryPool;
  #acks: string[] = [];
  readonly #ackSends = new Set<Promise<void>>();
  readonly #wiring: MemberWiring;
  readonly #loops: Promise<void>[];
  #closing: Promise<void> | undefined;
  #resolveClosed!: () => void;
  /** The blocking connection's CLIENT ID, so close() can end its XREADGROUP BLOCK at once. */
  #blockingId: Promise<number | undefined>;
  /** Wakes the claim loop's pause (on close). */
  #wakeClaim: (() => void) | undefined;

  constructor(
    redis: Redis,
    key: string,
    options: TransportSubscribeOptions,
    handler: MessageHandler,
    wiring: MemberWiring,
  ) {
    this.topic = options.topic;
    this.group = options.group;
    this.#redis = redis;
    // XREADGROUP BLOCK holds its connection: it gets one of its own.
    this.#blocking = redis.duplicate();
    const blockingId = () => (this.#blocking.client("ID") as Promise<number>).catch(() => undefined);
    this.#blockingId = blockingId();
    // A reconnect (a restarted Redis) gives the connection a new ID.
    this.#blocking.on("ready", () => {
      this.#blockingId = blockingId();
    });
    this.#key = key;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? TRANSPORT_DEFAULTS.ackTimeoutMs;
    this.#wiring = wiring;
    this.#maxInFlight = options.maxInFlight ?? TRANSPORT_DEFAULTS.maxInFlight;
    this.#pool = new DeliveryPool(handler, {
      topic: options.topic,
      maxInFlight: this.#maxInFlight,
      maxDeliveries: options.maxDeliveries ?? TRANSPORT_DEFAULTS.maxDeliveries,
      deadLetter: (letter) => wiring.deadLetter(deadLetterEvent(letter, options.group)),
      onError: wiring.onError,
    });
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#loops = [this.#readLoop(), this.#claimLoop()];
  }

  close(options: { readonly drainMs?: number } = {}): Promise<void> {
    this.#closing ??= (async () => {
      const drained = this.#pool.drain(options.drainMs ?? TRANSPORT_DEFAULTS.drainMs);
      this.#wakeClaim?.();
      // A read blocked in XREADGROUP returns at once with nothing read (CLIENT UNBLOCK … TIMEOUT), rather
      // than after its BLOCK time; what a read got just before is handed back by the read loop.
      const id = await this.#blockingId;
      if (id !== undefined) await this.#redis.client("UNBLOCK", id, "TIMEOUT").catch(() => undefined);
      await Promise.all(this.#loops);
      await drained;
      await this.#flushAcks();
      this.#blocking.disconnect();
      this.#wiring.forget(this);
      this.#resolveClosed();
    })();
    return this.#closing;
  }

  async #readLoop(): Promise<void> {
    while (await this.#pool.slot(Math.ceil(this.#maxInFlight / 2))) {
      try {
        const answer = (await this.#blocking.callBuffer(
          "XREADGROUP",
          "GROUP",
          this.group,
          this.#consumer,
          "COUNT",
          this.#pool.free,
          "BLOCK",
          250,
          "STREAMS",
          this.#key,
          ">",
        )) as Array<[Buffer, Entry[]]> | null;
        for (const [id, f] of answer?.[0]?.[1] ?? []) {
          if (this.#pool.closing) await this.#handBack(id.toString());
          else this.#deliver(id.toString(), f, 1);
        }
      } catch (error) {
        if (this.#pool.closing) return;
        if (lostGroup(error)) await createGroup(this.#redis, this.#key, this.group).catch(() => undefined);
        else this.#wiring.onError(error instanceof Error ? error : new Error(String(error)));
        await pause(250);
      }
    }
  }

  async #claimLoop(): Promise<void> {
    let cursor = "0-0";
    while (!this.#pool.closing) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#wiring.claimIntervalMs);
        this.#wakeClaim = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (this.#pool.closing) return;
      const free = this.#pool.free;
      if (free === 0) continue;
      try {
        const [next, entries, deleted] = (await this.#redis.callBuffer(
          "XAUTOCLAIM",
          this.#key,
          this.group,
          this.#consumer,
          this.#ackTimeoutMs,
          cursor,
          "COUNT",
          free,
        )) as [Buffer, Array<Entry | null>, Buffer[]?];
        cursor = next.toString();
        // Trimmed away while pending: nothing left to deliver, drop them from the pending list.
        if (deleted && deleted.length > 0)
          await this.#redis.xack(this.#key, this.group, ...deleted.map(String));
        const claimed = entries.filter((e): e is Entry => e !== null);
        if (claimed.length === 0) continue;
        const counts = await this.#deliveryCounts(claimed.map(([id]) => id.toString()));
        for (const [id, f] of claimed) {
          if (this.#pool.closing) {
            await this.#handBack(id.toString());
            continue;
          }
          this.#deliver(id.toString(), f, counts.get(id.toString()) ?? 2);
        }
      } catch (error) {
        if (this.#pool.closing) return;
        if (lostGroup(error)) {
          cursor = "0-0";
          await createGroup(this.#redis, this.#key, this.group).catch(() => undefined);
        } else this.#wiring.onError(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  /** Delivery counts of messages this member holds, from XPENDING (XAUTOCLAIM counted the claim). */
  async #deliveryCounts(ids: readonly string[]): Promise<Map<string, number>> {
    const sorted = [...ids].sort(compareIds);
    const rows = (await this.#redis.xpending(
      this.#key,
      this.group,
      sorted[0]!,
      sorted[sorted.length - 1]!,
      ids.length * 4 + 16,
      this.#consumer,
    )) as Array<[string, string, number, number]>;
    return new Map(rows.map(([id, , , count]) => [id, count]));
  }

  #deliver(id: string, f: readonly Buffer[], deliveryCount: number): void {
    let event: CloudEvent;
    try {
      event = decodeEntry(f);
    } catch (error) {
      // Not a CloudEvent: redelivering it cannot help; report it and ack it away.
      this.#wiring.onError(new Error(`entry ${id} of ${this.#key} is not a CloudEvent: ${String(error)}`));
      void this.#redis.xack(this.#key, this.group, id).catch(() => undefined);
      return;
    }
    this.#pool.deliver(event, deliveryCount, {
      ack: () => this.#queueAck(id),
      nack: (delayMs) => this.#retryAfter(id, delayMs),
    });
  }

  // Acks settled in the same tick go out in one XACK. ack() resolves once its id is queued: the
  // handler's slot is free for the next read while the XACK is on its way, and close() awaits every
  // XACK sent. An XACK that fails is reported; its entries stay pending and are redelivered.
  #queueAck(id: string): Promise<void> {
    if (this.#acks.length === 0) setImmediate(() => this.#sendAcks());
    this.#acks.push(id);
    return Promise.resolve();
  }

  #sendAcks(): void {
    const batch = this.#acks;
    if (batch.length === 0) return;
    this.#acks = [];
    const sent: Promise<void> = this.#redis.xack(this.#key, this.group, ...batch).then(
      () => undefined,
      (error: unknown) =>
        this.#wiring.onError(
          new Error(`XACK of ${batch.length} entries of ${this.#key} failed (they will be redelivered)`, {
            cause: error,
          }),
        ),
    );
    this.#ackSends.add(sent);
    void sent.finally(() => this.#ackSends.delete(sent));
  }

  /** Waits for every queued and sent XACK. */
  async #flushAcks(): Promise<void> {
    if (this.#acks.length > 0) this.#sendAcks();
    await Promise.all(this.#ackSends);
  }

  /** Stays pending; becomes claimable (idle ≥ ackTimeoutMs) once `delayMs` has passed. */
  async #retryAfter(id: string, delayMs: number): Promise<void> {
    const idle = Math.max(0, this.#ackTimeoutMs - Math.min(delayMs, this.#ackTimeoutMs));
    await this.#redis.call("XCLAIM", this.#key, this.group, this.#consumer, 0, id, "IDLE", idle, "JUSTID");
  }

  #handBack(id: string): Promise<void> {
    return this.#retryAfter(id, 0);
  }
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split("-").map(BigInt) as [bigint, bigint];
  return am === bm ? (as < bs ? -1 : as > bs ? 1 : 0) : am < bm ? -1 : 1;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
