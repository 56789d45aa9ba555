// Herald's transport over RabbitMQ (AMQP 0-9-1, amqplib). A topic is a durable fanout exchange
// (`herald.<topic>`); a group is a durable quorum queue bound to it (`herald.<topic>.<group>`), which
// RabbitMQ redelivers with an `x-delivery-count` after a requeue or a consumer's death. Members consume
// it with prefetch = maxInFlight. Publishes go through a confirm channel: they resolve on the broker's
// confirm. nack without delay requeues. nack with a delay publishes a copy (confirmed) to the group's
// retry queue with a per-message TTL, then acks the original: the retry queue dead-letters expired
// messages (its dead-letter exchange) back into the group's queue. The copy carries
// `herald-deliveries` so the count goes on. Dead letters are the SDK's DeliveryPool's: after
// maxDeliveries a `herald.deadletter` event is published (confirmed) to `herald.<topic>.deadletter`,
// then the original is acked. Events are encoded with the AMQP binding of @herald/cloudevents (its
// application properties as AMQP 0-9-1 headers): binary mode by default, structured on request.
// amqplib does not reconnect: when the connection closes without close() (the broker restarted, the
// connection was closed from the server side, the network failed) the transport connects again with
// backoff, reopens its confirm channel and every member's channel and consumer; see `reconnect`.
import { type CloudEvent, decodeAmqp, encodeAmqp } from "@herald/cloudevents";
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
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from "amqplib";

/** The header carrying the deliveries a retried copy had before (see nack with a delay). */
export const DELIVERIES_HEADER = "herald-deliveries";

export interface AmqpTransportOptions {
  /** Broker URL (default amqp://guest:guest@127.0.0.1:5672). */
  readonly url?: string;
  /** Binding mode of published events (default "binary"). */
  readonly contentMode?: ContentMode;
  /** Prefix of every exchange and queue name (default "herald"). */
  readonly prefix?: string;
  /** Failures that belong to no handler. Default: console.warn. */
  readonly onError?: (error: Error) => void;
  /** Reconnecting after the connection was lost (default: on, 100 ms doubling to 5 s, forever). */
  readonly reconnect?: AmqpReconnectOptions | false;
  /** Extra client properties (e.g. `connection_name`, shown by `rabbitmqctl list_connections`). */
  readonly clientProperties?: Record<string, string>;
}

export interface AmqpReconnectOptions {
  /** First wait before connecting again (default 100 ms); doubles after each failed attempt. */
  readonly baseMs?: number;
  /** Longest wait between attempts (default 5 000 ms). */
  readonly capMs?: number;
  /** How long a publish made while reconnecting waits for the connection before it fails (default 10 000 ms). */
  readonly publishWaitMs?: number;
}

/** The names a group's topology uses. */
export interface AmqpNames {
  readonly exchange: string;
  readonly queue: string;
  readonly retryQueue: string;
  readonly deadLetterQueue: string;
}

export function amqpNames(topic: string, group: string, prefix = "herald"): AmqpNames {
  return {
    exchange: `${prefix}.${topic}`,
    queue: `${prefix}.${topic}.${group}`,
    retryQueue: `${prefix}.${topic}.${group}.retry`,
    deadLetterQueue: `${prefix}.${topic}.deadletter`,
  };
}

function open(options: AmqpTransportOptions): Promise<ChannelModel> {
  return amqp.connect(options.url ?? "amqp://guest:guest@127.0.0.1:5672", {
    ...(options.clientProperties ? { clientProperties: options.clientProperties } : {}),
  });
}

export async function connectAmqpTransport(options: AmqpTransportOptions = {}): Promise<AmqpTransport> {
  const model = await open(options);
  const confirm = await model.createConfirmChannel();
  return new AmqpTransport(model, confirm, options);
}

/** An event as amqplib publishes it: the AMQP binding's application properties become headers. */
export interface AmqpMessage {
  readonly body: Buffer;
  readonly headers: Record<string, unknown>;
  readonly contentType?: string;
}

/** Encodes `event` with the CloudEvents AMQP binding into amqplib's publish arguments. */
export function amqpMessage(event: CloudEvent, mode: ContentMode): AmqpMessage {
  const message = encodeAmqp(event, mode);
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(message.applicationProperties)) {
    headers[name] = value instanceof Uint8Array ? Buffer.from(value) : value;
  }
  const body =
    message.body === null
      ? Buffer.alloc(0)
      : typeof message.body === "string"
        ? Buffer.from(message.body)
        : Buffer.from(message.body);
  return message.contentType === undefined
    ? { body, headers }
    : { body, headers, contentType: message.contentType };
}

export class AmqpTransport implements Transport {
  readonly name = "amqp";
  readonly capabilities: TransportCapabilities = {
    keyOrdering: false,
    nackDelay: true,
    deadLetter: true,
    durablePublish: true,
  };
  #connection: ChannelModel;
  #confirm: ConfirmChannel;
  readonly #options: AmqpTransportOptions;
  /** Resolves while connected; replaced by a pending one while reconnecting. */
  #ready: Promise<void> = Promise.resolve();
  /** False while reconnecting: publishes then wait for #ready (connected, they go at once). */
  #up = true;
  #closed = false;
  readonly #mode: ContentMode;
  readonly #prefix: string;
  readonly #onError: (error: Error) => void;
  readonly #exchanges = new Map<string, Promise<void>>();
  readonly #subscriptions = new Set<AmqpGroupMember>();

  /** Use connectAmqpTransport(). */
  constructor(connection: ChannelModel, confirm: ConfirmChannel, options: AmqpTransportOptions) {
    this.#connection = connection;
    this.#confirm = confirm;
    this.#options = options;
    this.#mode = options.contentMode ?? "binary";
    this.#prefix = options.prefix ?? "herald";
    this.#onError = options.onError ?? ((error) => console.warn(`[herald] amqp transport: ${error.message}`));
    // An error on a channel or connection is also reported on the pending calls; this keeps it from
    // being an unhandled 'error' event.
    this.#watch(connection, confirm);
  }

  /** The current connection (a new one after a reconnect). */
  get connection(): ChannelModel {
    return this.#connection;
  }

  #watch(connection: ChannelModel, confirm: ConfirmChannel): void {
    connection.on("error", (error: Error) => this.#onError(error));
    confirm.on("error", (error: Error) => this.#onError(error));
    connection.once("close", () => {
      if (!this.#closed && this.#options.reconnect !== false) {
        this.#up = false;
        this.#ready = this.#reconnect().then(() => {
          this.#up = true;
        });
      }
    });
  }

  /** Connects again with backoff until it succeeds or close() is called, then reopens every member. */
  async #reconnect(): Promise<void> {
    const policy = this.#options.reconnect === false ? {} : (this.#options.reconnect ?? {});
    let wait = policy.baseMs ?? 100;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (this.#closed) return;
      try {
        const connection = await open(this.#options);
        const confirm = await connection.createConfirmChannel();
        this.#connection = connection;
        this.#confirm = confirm;
        this.#exchanges.clear();
        this.#watch(connection, confirm);
        for (const member of this.#subscriptions) await member.reopen(connection);
        return;
      } catch (error) {
        this.#onError(new Error(`reconnecting: ${String(error)}`, { cause: error }));
        wait = Math.min(policy.capMs ?? 5_000, wait * 2);
      }
    }
  }

  /** Waits for the connection while reconnecting (at most `publishWaitMs`). */
  async #connected(): Promise<void> {
    // Connected: no timer and no race per publish.
    if (this.#up) return;
    const policy = this.#options.reconnect === false ? {} : (this.#options.reconnect ?? {});
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error("the AMQP connection is being re-established")),
        policy.publishWaitMs ?? 10_000,
      );
    });
    try {
      await Promise.race([this.#ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  names(topic: string, group: string): AmqpNames {
    return amqpNames(topic, group, this.#prefix);
  }

  async publish(topic: string, event: CloudEvent): Promise<void> {
    await this.publishBatch(topic, [event]);
  }

  async publishBatch(topic: string, events: readonly CloudEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { exchange } = this.names(topic, "");
    if (!this.#up) await this.#connected();
    await this.#ensureExchange(exchange);
    await Promise.all(events.map((e) => this.#send(exchange, "", e, {})));
  }

  /** The `herald.deadletter` events stored for `topic`, read without removing them. */
  async deadLetters(topic: string): Promise<CloudEvent[]> {
    const { deadLetterQueue } = this.names(topic, "");
    const browse = await this.connection.createChannel();
    try {
      await browse.assertQueue(deadLetterQueue, QUORUM);
      const out: CloudEvent[] = [];
      for (;;) {
        const message = await browse.get(deadLetterQueue, { noAck: false });
        if (message === false) break;
        out.push(decode(message));
      }
      return out;
    } finally {
      // Closing the channel hands every message it got back to the queue.
      await browse.close();
    }
  }

  async subscribe(
    options: TransportSubscribeOptions,
    handler: MessageHandler,
  ): Promise<TransportSubscription> {
    if (options.ordered === true)
      throw new TransportCapabilityError(
        "the AMQP transport does not keep per-key order under retries (capabilities.keyOrdering is false)",
      );
    const names = this.names(options.topic, options.group);
    await this.#connected();
    const maxInFlight = options.maxInFlight ?? TRANSPORT_DEFAULTS.maxInFlight;
    const member = new AmqpGroupMember(names, options, handler, {
      maxInFlight,
      openChannel: (connection) => this.#memberChannel(connection, names, maxInFlight),
      retry: (event, delayMs, deliveries) =>
        this.#send("", names.retryQueue, event, {
          expiration: String(Math.max(1, Math.round(delayMs))),
          headers: { [DELIVERIES_HEADER]: deliveries },
        }),
      deadLetter: (event) => this.#send("", names.deadLetterQueue, event, {}),
      onError: this.#onError,
      forget: (m) => this.#subscriptions.delete(m),
    });
    await member.reopen(this.#connection);
    this.#subscriptions.add(member);
    return member;
  }

  /** A member's channel, with its group's topology asserted (again, after a reconnect). */
  async #memberChannel(connection: ChannelModel, names: AmqpNames, maxInFlight: number): Promise<Channel> {
    const channel = await connection.createChannel();
    channel.on("error", (error: Error) => this.#onError(error));
    await channel.assertExchange(names.exchange, "fanout", { durable: true });
    await channel.assertQueue(names.queue, QUORUM);
    await channel.bindQueue(names.queue, names.exchange, "");
    await channel.assertQueue(names.retryQueue, {
      durable: true,
      arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": names.queue },
    });
    await channel.assertQueue(names.deadLetterQueue, QUORUM);
    await channel.prefetch(maxInFlight);
    return channel;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    await this.#connection.close().catch(() => undefined);
  }

  #send(
    exchange: string,
    routingKey: string,
    event: CloudEvent,
    extra: { expiration?: string; headers?: Record<string, number> },
  ): Promise<void> {
    const message = amqpMessage(event, this.#mode);
    const headers: Record<string, unknown> = { ...extra.headers, ...message.headers };
    const body = message.body;
    return new Promise<void>((resolve, reject) => {
      this.#confirm.publish(
        exchange,
        routingKey,
        body,
        {
          persistent: true,
          headers,
          ...(message.contentType === undefined ? {} : { contentType: message.contentType }),
          ...(extra.expiration === undefined ? {} : { expiration: extra.expiration }),
        },
        (error: unknown) =>
          error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
      );
    });
  }

  #ensureExchange(exchange: string): Promise<void> {
    let ready = this.#exchanges.get(exchange);
    if (!ready) {
      ready = this.#confirm.assertExchange(exchange, "fanout", { durable: true }).then(() => undefined);
      ready.catch(() => this.#exchanges.delete(exchange));
      this.#exchanges.set(exchange, ready);
    }
    return ready;
  }
}

const QUORUM = { durable: true, arguments: { "x-queue-type": "quorum" } } as const;

function decode(message: {
  content: Buffer;
  properties: { contentType?: unknown; headers?: Record<string, unknown> };
}): CloudEvent {
  const applicationProperties: Record<string, string | number | boolean | Uint8Array> = {};
  for (const [name, value] of Object.entries(message.properties.headers ?? {})) {
    if (!name.toLowerCase().startsWith("cloudevents")) continue;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
      applicationProperties[name] = value;
    else if (value instanceof Uint8Array) applicationProperties[name] = value;
  }
  const contentType =
    typeof message.properties.contentType === "string" ? message.properties.contentType : undefined;
  return decodeAmqp({
    ...(contentType === undefined ? {} : { contentType }),
    applicationProperties,
    body: message.content,
  });
}

/** Deliveries a message had: those of the copies before it, plus the queue's own redeliveries, plus this one. */
function deliveryCount(message: ConsumeMessage): number {
  const headers = message.properties.headers ?? {};
  const carried = Number(headers[DELIVERIES_HEADER] ?? 0);
  const requeued = Number(headers["x-delivery-count"] ?? 0);
  return (Number.isFinite(carried) ? carried : 0) + (Number.isFinite(requeued) ? requeued : 0) + 1;
}

interface MemberWiring {
  maxInFlight: number;
  openChannel(connection: ChannelModel): Promise<Channel>;
  retry(event: CloudEvent, delayMs: number, deliveries: number): Promise<void>;
  deadLetter(event: CloudEvent): Promise<void>;
  onError(error: Error): void;
  forget(member: AmqpGroupMember): void;
}

class AmqpGroupMember implements TransportSubscription {
  readonly topic: string;
  readonly group: string;
  readonly closed: Promise<void>;
  #channel: Channel | undefined;
  readonly #names: AmqpNames;
  readonly #pool: DeliveryPool;
  readonly #wiring: MemberWiring;
  #consumerTag: string | undefined;
  #closing: Promise<void> | undefined;
  #resolveClosed!: () => void;

  constructor(
    names: AmqpNames,
    options: TransportSubscribeOptions,
    handler: MessageHandler,
    wiring: MemberWiring,
  ) {
    this.topic = options.topic;
    this.group = options.group;
    this.#names = names;
    this.#wiring = wiring;
    this.#pool = new DeliveryPool(handler, {
      topic: options.topic,
      maxInFlight: wiring.maxInFlight,
      maxDeliveries: options.maxDeliveries ?? TRANSPORT_DEFAULTS.maxDeliveries,
      deadLetter: (letter) => wiring.deadLetter(deadLetterEvent(letter, options.group)),
      onError: wiring.onError,
    });
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /**
   * Opens a channel on `connection` and consumes (at start, and after a reconnect: messages the old
   * channel held unacked were requeued by the broker and come back with their count).
   */
  async reopen(connection: ChannelModel): Promise<void> {
    if (this.#pool.closing) return;
    const channel = await this.#wiring.openChannel(connection);
    this.#channel = channel;
    const reply = await channel.consume(this.#names.queue, (message) => {
      if (message !== null) this.#deliver(channel, message);
    });
    this.#consumerTag = reply.consumerTag;
  }

  close(options: { readonly drainMs?: number } = {}): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#consumerTag !== undefined)
        await this.#channel?.cancel(this.#consumerTag).catch(() => undefined);
      await this.#pool.drain(options.drainMs ?? TRANSPORT_DEFAULTS.drainMs);
      // Closing the channel flushes the acks sent on it; the broker requeues whatever it still holds.
      await this.#channel?.close().catch(() => undefined);
      this.#wiring.forget(this);
      this.#resolveClosed();
    })();
    return this.#closing;
  }

  // Settled on the channel it came on: after a reconnect that one is gone (its settling fails and is
  // reported) and the broker has requeued the message.
  #deliver(channel: Channel, message: ConsumeMessage): void {
    if (this.#pool.closing) {
      channel.nack(message, false, true);
      return;
    }
    let event: CloudEvent;
    try {
      event = decode(message);
    } catch (error) {
      // Not a CloudEvent: redelivering it cannot help; report it and drop it.
      this.#wiring.onError(
        new Error(`a message on ${this.#names.queue} is not a CloudEvent: ${String(error)}`),
      );
      channel.nack(message, false, false);
      return;
    }
    const count = deliveryCount(message);
    this.#pool.deliver(event, count, {
      ack: async () => channel.ack(message),
      nack: async (delayMs) => {
        if (delayMs <= 0) {
          channel.nack(message, false, true);
          return;
        }
        // The copy is confirmed before the original is acked: a crash in between gives a duplicate, never a loss.
        await this.#wiring.retry(event, delayMs, count);
        channel.ack(message);
      },
    });
  }
}
