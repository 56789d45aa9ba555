// Herald's transport over NATS JetStream. A topic is a subject, stored in its own stream (one stream
// per topic, created on first use); a group is a durable pull consumer on that stream (explicit acks,
// `ack_wait` = ackTimeoutMs, delivering from the stream's start). nack(delay) is JetStream's
// `nak(delay)`; the redelivery count is the message's `deliveryCount`. Dead letters are the SDK's
// DeliveryPool's: the consumer itself has no `max_deliver` limit, so a message is never silently
// parked by the server; after `maxDeliveries` the transport publishes a `herald.deadletter` event
// to `<topic>.deadletter` (its own stream) and then acks the original. Events are encoded with the
// NATS binding of @herald/cloudevents: binary mode (`ce-` headers) by default, structured on request.
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
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type JsMsg,
  StorageType,
} from "@nats-io/jetstream";
import { connect, headers, type MsgHdrs, type NatsConnection, nanos } from "@nats-io/transport-node";

export interface NatsTransportOptions {
  /** Server(s) to connect to (default 127.0.0.1:4222); ignored when `connection` is given. */
  readonly servers?: string | string[];
  /** An open connection to use (the transport then leaves it open on close()). */
  readonly connection?: NatsConnection;
  /** Binding mode of published events (default "binary": `ce-` headers, the data as the payload). */
  readonly contentMode?: ContentMode;
  /** The stream of a topic (default `HERALD_<topic>` with every character outside [A-Za-z0-9_-] as `_`). */
  readonly streamName?: (topic: string) => string;
  /** The subject dead letters of a topic go to (default `<topic>.deadletter`, stream `<stream>_DEADLETTER`). */
  readonly deadLetterSubject?: (topic: string) => string;
  /** Storage of the streams the transport creates (default "file"). */
  readonly storage?: "file" | "memory";
  /** Failures that belong to no handler (ack lost, an undecodable message). Default: console.warn. */
  readonly onError?: (error: Error) => void;
  /**
   * Whether publish creates the topic's stream when missing (default true). With false, a publish to
   * a subject no stream holds is not acknowledged (it rejects): what a bridge to a stream someone
   * else owns needs.
   */
  readonly createStreams?: boolean;
  /** How long publish waits for the stream's acknowledgement (default nats.js's, 5 s). */
  readonly publishTimeoutMs?: number;
}

/** Opens a connection (unless given one) and returns the transport. */
export async function connectNatsTransport(options: NatsTransportOptions = {}): Promise<NatsTransport> {
  const owned = options.connection === undefined;
  const nc = options.connection ?? (await connect({ servers: options.servers ?? "127.0.0.1:4222" }));
  const jsm = await jetstreamManager(nc);
  return new NatsTransport(nc, jsm, options, owned);
}

export function defaultStreamName(topic: string): string {
  return `HERALD_${topic.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

export class NatsTransport implements Transport {
  readonly name = "nats";
  readonly capabilities: TransportCapabilities = {
    keyOrdering: false,
    nackDelay: true,
    deadLetter: true,
    durablePublish: true,
  };
  readonly connection: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #js: JetStreamClient;
  readonly #mode: ContentMode;
  readonly #streamName: (topic: string) => string;
  readonly #deadLetterSubject: (topic: string) => string;
  readonly #storage: StorageType;
  readonly #onError: (error: Error) => void;
  readonly #owned: boolean;
  readonly #createStreams: boolean;
  readonly #publishTimeoutMs: number | undefined;
  readonly #streams = new Map<string, Promise<void>>();
  readonly #subscriptions = new Set<NatsGroupMember>();

  /** Use connectNatsTransport(). */
  constructor(nc: NatsConnection, jsm: JetStreamManager, options: NatsTransportOptions, owned: boolean) {
    this.connection = nc;
    this.#jsm = jsm;
    this.#js = jetstream(nc);
    this.#mode = options.contentMode ?? "binary";
    this.#streamName = options.streamName ?? defaultStreamName;
    this.#deadLetterSubject = options.deadLetterSubject ?? ((topic) => `${topic}.deadletter`);
    this.#storage = options.storage === "memory" ? StorageType.Memory : StorageType.File;
    this.#onError = options.onError ?? ((error) => console.warn(`[herald] nats transport: ${error.message}`));
    this.#owned = owned;
    this.#createStreams = options.createStreams ?? true;
    this.#publishTimeoutMs = options.publishTimeoutMs;
  }

  /** The stream holding `topic` (created on first use). */
  streamOf(topic: string): string {
    return this.#streamName(topic);
  }

  /** The dead-letter subject and stream of `topic`. */
  deadLetterOf(topic: string): { subject: string; stream: string } {
    return { subject: this.#deadLetterSubject(topic), stream: `${this.#streamName(topic)}_DEADLETTER` };
  }

  async publish(topic: string, event: CloudEvent): Promise<void> {
    if (this.#createStreams) await this.#ensureStream(topic);
    await this.#publish(topic, event);
  }

  async publishBatch(topic: string, events: readonly CloudEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (this.#createStreams) await this.#ensureStream(topic);
    // Sent in order on one connection (so stored in order); the acknowledgements are awaited together.
    await Promise.all(events.map((e) => this.#publish(topic, e)));
  }

  /** The `herald.deadletter` events stored for `topic` (every group's; `data.consumer` names the group). */
  async deadLetters(topic: string): Promise<CloudEvent[]> {
    const { stream } = this.deadLetterOf(topic);
    await this.#ensureStream(topic);
    const info = await this.#jsm.streams.info(stream);
    const out: CloudEvent[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const stored = await this.#jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (stored) out.push(decodeNats({ headers: headerRecord(stored.header), data: stored.data }));
    }
    return out;
  }

  async subscribe(
    options: TransportSubscribeOptions,
    handler: MessageHandler,
  ): Promise<TransportSubscription> {
    if (options.ordered === true)
      throw new TransportCapabilityError(
        "the NATS transport does not keep per-key order under retries (capabilities.keyOrdering is false)",
      );
    await this.#ensureStream(options.topic);
    const stream = this.#streamName(options.topic);
    const durable = options.group.replace(/[^A-Za-z0-9_-]/g, "_");
    const config = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(options.ackTimeoutMs ?? TRANSPORT_DEFAULTS.ackTimeoutMs),
      // Unlimited: the transport dead-letters at maxDeliveries; a server-side limit would park messages.
      max_deliver: -1,
      max_ack_pending: -1,
    };
    try {
      await this.#jsm.consumers.add(stream, config);
    } catch {
      // Exists with other settings (another member asked differently): take the new ack_wait.
      await this.#jsm.consumers.update(stream, durable, { ack_wait: config.ack_wait });
    }
    const consumer = await this.#js.consumers.get(stream, durable);
    const member = new NatsGroupMember(options, handler, {
      fetch: (max) => consumer.fetch({ max_messages: max, expires: FETCH_EXPIRES_MS }),
      flush: () => this.connection.flush(),
      deadLetter: (event) => this.#publishDeadLetter(options.topic, event),
      onError: this.#onError,
      forget: (m) => this.#subscriptions.delete(m),
    });
    this.#subscriptions.add(member);
    return member;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    if (this.#owned) await this.connection.drain();
  }

  async #publish(subject: string, event: CloudEvent): Promise<void> {
    const message = encodeNats(event, this.#mode, { withHeaders: true });
    const h = headers();
    for (const [name, value] of Object.entries(message.headers ?? {})) h.set(name, value);
    // Nats-Msg-Id: a publish retried within the stream's duplicate window is stored once.
    await this.#js.publish(subject, message.data, {
      headers: h,
      msgID: `${event.source} ${event.id}`,
      ...(this.#publishTimeoutMs === undefined ? {} : { timeout: this.#publishTimeoutMs }),
    });
  }

  async #publishDeadLetter(topic: string, event: CloudEvent): Promise<void> {
    await this.#ensureStream(topic);
    await this.#publish(this.#deadLetterSubject(topic), event);
  }

  #ensureStream(topic: string): Promise<void> {
    let ready = this.#streams.get(topic);
    if (!ready) {
      ready = (async () => {
        const dl = this.deadLetterOf(topic);
        await this.#addStream(this.#streamName(topic), topic);
        await this.#addStream(dl.stream, dl.subject);
      })();
      ready.catch(() => this.#streams.delete(topic));
      this.#streams.set(topic, ready);
    }
    return ready;
  }

  async #addStream(name: string, subject: string): Promise<void> {
    try {
      await this.#jsm.streams.info(name);
    } catch {
      await this.#jsm.streams.add({ name, subjects: [subject], storage: this.#storage });
    }
  }
}

const FETCH_EXPIRES_MS = 1_000;
const HAND_BACK_DELAY_MS = FETCH_EXPIRES_MS + 250;

function headerRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const key of h.keys()) out[key] = h.get(key);
  return out;
}

interface MemberWiring {
  fetch(max: number): Promise<ConsumerMessages>;
  flush(): Promise<void>;
  deadLetter(event: CloudEvent): Promise<void>;
  onError(error: Error): void;
  forget(member: NatsGroupMember): void;
}

class NatsGroupMember implements TransportSubscription {
  readonly topic: string;
  readonly group: string;
  readonly closed: Promise<void>;
  readonly #pool: DeliveryPool;
  readonly #wiring: MemberWiring;
  readonly #loop: Promise<void>;
  readonly #maxInFlight: number;
  readonly #batches = new Set<ConsumerMessages>();
  /** Messages each pull lane asked for and has not received yet. */
  readonly #reserved = [0, 0];
  #closing: Promise<void> | undefined;
  #resolveClosed!: () => void;

  constructor(options: TransportSubscribeOptions, handler: MessageHandler, wiring: MemberWiring) {
    this.topic = options.topic;
    this.group = options.group;
    this.#wiring = wiring;
    this.#maxInFlight = options.maxInFlight ?? TRANSPORT_DEFAULTS.maxInFlight;
    this.#pool = new DeliveryPool(handler, {
      topic: options.topic,
      maxInFlight: this.#maxInFlight,
      maxDeliveries: options.maxDeliveries ?? TRANSPORT_DEFAULTS.maxDeliveries,
      deadLetter: (letter) => wiring.deadLetter(deadLetterEvent(letter, options.group)),
      // Longer than a pull request lives (fetch expires = 1 s): a nak that lands while the closing
      // member's last pull is still open makes the server undo the delivery and reset its count.
      handBackDelayMs: HAND_BACK_DELAY_MS,
      onError: wiring.onError,
    });
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#loop = this.#fetchLoop();
  }

  close(options: { readonly drainMs?: number } = {}): Promise<void> {
    this.#closing ??= (async () => {
      const drained = this.#pool.drain(options.drainMs ?? TRANSPORT_DEFAULTS.drainMs);
      for (const batch of this.#batches) batch.stop();
      await this.#loop;
      await drained;
      // Acks are written without waiting for the server's confirmation (as a plain client does): a
      // flush (PING/PONG, answered after the server has read every ack before it) makes them durable.
      await this.#wiring
        .flush()
        .catch((error: unknown) =>
          this.#wiring.onError(error instanceof Error ? error : new Error(String(error))),
        );
      this.#wiring.forget(this);
      this.#resolveClosed();
    })();
    return this.#closing;
  }

  /**
   * Two pull lanes, each asking for half the slots, so that one pull request is open on the server
   * while the other one's messages are handled (one open at a time leaves the member idle for a
   * pull's round trip and the server's batching). A lane asks only for slots neither the handlers
   * nor the other lane's open request hold: never more than maxInFlight messages in the member.
   */
  async #fetchLoop(): Promise<void> {
    // Sizes add up to maxInFlight (one lane when it is 1).
    const sizes =
      this.#maxInFlight >= 2
        ? [Math.ceil(this.#maxInFlight / 2), Math.floor(this.#maxInFlight / 2)]
        : [this.#maxInFlight];
    await Promise.all(sizes.map((size, lane) => this.#lane(lane, size)));
  }

  async #lane(lane: number, size: number): Promise<void> {
    const other = 1 - lane;
    const reservedByOther = () => this.#reserved[other] ?? 0;
    while (await this.#pool.slot(size + reservedByOther())) {
      const want = Math.min(size, this.#pool.free - reservedByOther());
      if (want < 1) continue;
      this.#reserved[lane] = want;
      let batch: ConsumerMessages | undefined;
      try {
        batch = await this.#wiring.fetch(want);
        this.#batches.add(batch);
        if (this.#pool.closing) batch.stop();
        for await (const m of batch) {
          this.#reserved[lane] = Math.max(0, (this.#reserved[lane] ?? 0) - 1);
          if (this.#pool.closing) {
            m.nak(HAND_BACK_DELAY_MS);
            continue;
          }
          this.#deliver(m);
        }
      } catch (error) {
        if (this.#pool.closing) return;
        this.#wiring.onError(error instanceof Error ? error : new Error(String(error)));
        await new Promise((resolve) => setTimeout(resolve, 250));
      } finally {
        this.#reserved[lane] = 0;
        if (batch) this.#batches.delete(batch);
      }
    }
  }

  #deliver(m: JsMsg): void {
    let event: CloudEvent;
    try {
      event = decodeNats({ headers: headerRecord(m.headers), data: m.data });
    } catch (error) {
      // Not a CloudEvent: redelivering it cannot help; report and drop it from the group.
      this.#wiring.onError(
        new Error(`message ${m.seq} on ${m.subject} is not a CloudEvent: ${String(error)}`),
      );
      // No reason: `+TERM <reason>` needs NATS ≥ 2.10.4; older servers ignore it and redeliver forever.
      m.term();
      return;
    }
    this.#pool.deliver(event, m.info.deliveryCount, {
      // Queued on the connection; close() flushes. Lost only with the connection, and then the server
      // redelivers (at least once), as it would for a lost ackAck.
      ack: async () => m.ack(),
      nack: async (delayMs) => m.nak(delayMs),
    });
  }
}
