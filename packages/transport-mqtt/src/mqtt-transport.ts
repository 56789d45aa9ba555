// Herald's transport over MQTT 5 (MQTT.js). A group is a shared subscription (`$share/<group>/<topic>`)
// held by one persistent session per member; a message stays unacknowledged (no PUBACK) until its
// handler settles. MQTT has no nack, no delayed redelivery and no redelivery to another member, so:
// - nack(delay) republishes a copy to the group's retry topic (`<prefix>/retry/<group>/<topic>`, every
//   member also shares it) carrying the delivery count and a not-before time as User Properties, then
//   PUBACKs the original; the member that gets the copy holds it, unacknowledged, until not-before;
// - a handler that settles nothing within ackTimeoutMs is handed back the same way;
// - a member that dies leaves its unacknowledged and queued messages in its session (Mosquitto 2.0
//   neither hands them to the other members nor stops assigning new ones to the dead session; see the
//   README): its retained Will (`<prefix>/members/<group>/<topic>/<clientId>`) tells the group, and a
//   live member adopts the session (connects with the dead member's client id), republishes what it
//   holds to the retry topic and ends it. A member that closes leaves the same retained record and
//   its session, subscribed: the session keeps the group's messages until a member adopts it.
// Events are encoded with the CloudEvents MQTT binding of @herald/cloudevents (binary mode by default).
import { randomUUID } from "node:crypto";
import { type CloudEvent, decodeMqtt, encodeMqtt5 } from "@herald/cloudevents";
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
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from "mqtt";

/** User Property: deliveries a message had before this copy (absent = 0). */
export const DELIVERIES_PROPERTY = "herald-deliveries";
/** User Property: epoch milliseconds before which a retry copy is not handed to a handler. */
export const NOT_BEFORE_PROPERTY = "herald-not-before";

export interface MqttTransportOptions {
  /** Broker URL (default mqtt://127.0.0.1:1883). */
  readonly url?: string;
  /** Extra MQTT.js options for every connection (clientId, clean, protocolVersion are the transport's). */
  readonly mqtt?: IClientOptions;
  /** Binding mode of published events (default "binary": attributes as User Properties). */
  readonly contentMode?: ContentMode;
  /** First level of the transport's own topics: retry, dead letters, members (default "herald"). */
  readonly prefix?: string;
  /** How long the broker keeps a member's session after it went away (default 3 600 s). */
  readonly sessionExpirySeconds?: number;
  /** How long a member may be away before its Will tells the group it died (default 2 s). */
  readonly willDelaySeconds?: number;
  /** Failures that belong to no handler. Default: console.warn. */
  readonly onError?: (error: Error) => void;
}

interface Settings {
  readonly url: string;
  readonly mqtt: IClientOptions;
  readonly mode: ContentMode;
  readonly prefix: string;
  readonly sessionExpirySeconds: number;
  readonly willDelaySeconds: number;
  readonly onError: (error: Error) => void;
}

export async function connectMqttTransport(options: MqttTransportOptions = {}): Promise<MqttTransport> {
  const settings: Settings = {
    url: options.url ?? "mqtt://127.0.0.1:1883",
    mqtt: options.mqtt ?? {},
    mode: options.contentMode ?? "binary",
    prefix: options.prefix ?? "herald",
    sessionExpirySeconds: options.sessionExpirySeconds ?? 3_600,
    willDelaySeconds: options.willDelaySeconds ?? 2,
    onError: options.onError ?? ((error) => console.warn(`[herald] mqtt transport: ${error.message}`)),
  };
  const publisher = await open(settings, { clientId: `herald-pub-${randomUUID()}`, clean: true });
  return new MqttTransport(settings, publisher);
}

/** A topic the transport can publish to and share: no wildcards, not a `$` topic. */
function checkTopic(topic: string, what: string): void {
  if (
    typeof topic !== "string" ||
    topic.length === 0 ||
    /[+#]/.test(topic) ||
    topic.includes("\0") ||
    topic.startsWith("$")
  )
    throw new TypeError(`${what} must be a non-empty MQTT topic without wildcards or a leading $: ${topic}`);
}

function checkGroup(group: string): void {
  if (typeof group !== "string" || group.length === 0 || /[/+#$]/.test(group) || group.includes("\0"))
    throw new TypeError(`a group must be a non-empty MQTT topic level (no / + # $): ${group}`);
}

/** Swallowed by our own `error` listener: tells MQTT.js to go on reading without sending a PUBACK. */
class HoldAck extends Error {
  override readonly name = "HoldAck";
}
const HOLD = new HoldAck("PUBACK held until the handler settles");

/**
 * Opens one connection (MQTT 5). Resolves on CONNACK; rejects if the first attempt fails.
 * Afterwards MQTT.js reconnects by itself (same client id: a persistent session resumes).
 */
function open(settings: Settings, own: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(settings.url, {
      reconnectPeriod: 1_000,
      connectTimeout: 10_000,
      ...settings.mqtt,
      ...own,
      protocolVersion: 5,
    });
    const fail = (error: Error) => {
      client.end(true);
      reject(error);
    };
    const closedEarly = () => fail(new Error(`cannot connect to ${settings.url}`));
    client.once("error", fail);
    client.once("close", closedEarly);
    client.once("connect", () => {
      client.off("error", fail);
      client.off("close", closedEarly);
      client.on("error", (error) => {
        if (!(error instanceof HoldAck)) settings.onError(error);
      });
      resolve(client);
    });
  });
}

interface Wire {
  readonly payload: string | Buffer;
  readonly options: IClientPublishOptions;
}

function wire(event: CloudEvent, mode: ContentMode, extra: IClientPublishOptions = {}): Wire {
  const message = encodeMqtt5(event, mode);
  const payload = typeof message.payload === "string" ? message.payload : Buffer.from(message.payload);
  return { payload, options: { qos: 1, ...extra, properties: { ...message.properties } } };
}

/** What a received PUBLISH carries that the transport reads (MQTT.js's packet, narrowed). */
interface Received {
  readonly topic: string;
  readonly payload: Buffer;
  readonly messageId: number;
  readonly dup: boolean;
  readonly properties?: {
    readonly contentType?: string;
    readonly userProperties?: Record<string, string | string[]>;
  };
}

function userProperty(packet: Received, name: string): string | undefined {
  const value = packet.properties?.userProperties?.[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** The same message (payload and properties untouched) with the delivery count and not-before set. */
function copyOf(packet: Received, deliveries: number, notBefore: number | undefined): Wire {
  const userProperties: Record<string, string | string[]> = {
    ...(packet.properties?.userProperties ?? {}),
    [DELIVERIES_PROPERTY]: String(deliveries),
  };
  delete userProperties[NOT_BEFORE_PROPERTY];
  if (notBefore !== undefined) userProperties[NOT_BEFORE_PROPERTY] = String(notBefore);
  const properties: IClientPublishOptions["properties"] = { userProperties };
  if (packet.properties?.contentType !== undefined) properties.contentType = packet.properties.contentType;
  return { payload: packet.payload, options: { qos: 1, properties } };
}

/** Sends the PUBACK that the AckHandler held (MQTT.js has no public call for a deferred PUBACK). */
function puback(client: MqttClient, messageId: number): Promise<void> {
  const send = (client as unknown as Record<string, unknown>)["_sendPacket"] as (
    packet: { cmd: "puback"; messageId: number; reasonCode: number },
    cb: (error?: Error) => void,
  ) => void;
  // Not on a connection being closed: the broker redelivers the message to the session instead.
  if (client.disconnecting || !client.connected) return Promise.reject(new Error("not connected: no PUBACK"));
  return new Promise((resolve, reject) =>
    send.call(client, { cmd: "puback", messageId, reasonCode: 0 }, (error) =>
      error ? reject(error) : resolve(),
    ),
  );
}

export class MqttTransport implements Transport {
  readonly name = "mqtt";
  readonly capabilities: TransportCapabilities = {
    keyOrdering: false,
    nackDelay: true,
    deadLetter: true,
    durablePublish: true,
  };
  /** The connection publishes go through (clean session). */
  readonly publisher: MqttClient;
  readonly #settings: Settings;
  readonly #members = new Set<MqttGroupMember>();

  constructor(settings: Settings, publisher: MqttClient) {
    this.#settings = settings;
    this.publisher = publisher;
  }

  /** The topic a group's retries of `topic` go to. */
  retryTopicOf(topic: string, group: string): string {
    return `${this.#settings.prefix}/retry/${group}/${topic}`;
  }

  /** The retained record (and Will) of a member's session: present while the session waits to be adopted. */
  memberTopicOf(topic: string, group: string, clientId: string): string {
    return `${this.#settings.prefix}/members/${group}/${topic}/${clientId}`;
  }

  /** The filter matching a group's dead letters of `topic`: one retained message per letter. */
  deadLetterFilterOf(topic: string, group: string): string {
    return `${this.#settings.prefix}/deadletter/${group}/${topic}/+`;
  }

  /** Publishes one event at QoS 1; resolves on the broker's PUBACK. */
  async publish(topic: string, event: CloudEvent): Promise<void> {
    checkTopic(topic, "a topic");
    const w = wire(event, this.#settings.mode);
    await this.publisher.publishAsync(topic, w.payload, w.options);
  }

  /** Sends every event at once on the one connection (MQTT keeps their order); resolves on the last PUBACK. */
  async publishBatch(topic: string, events: readonly CloudEvent[]): Promise<void> {
    checkTopic(topic, "a topic");
    await Promise.all(
      events.map((event) => {
        const w = wire(event, this.#settings.mode);
        return this.publisher.publishAsync(topic, w.payload, w.options);
      }),
    );
  }

  /**
   * The `herald.deadletter` events stored for `group` on `topic` (retained messages): subscribes to
   * them, then waits for a marker published after the subscription, which the broker queues behind them.
   */
  async deadLetters(topic: string, group: string): Promise<CloudEvent[]> {
    const reader = await open(this.#settings, { clientId: `herald-dl-${randomUUID()}`, clean: true });
    const marker = `${this.#settings.prefix}/marker/${randomUUID()}`;
    const letters: CloudEvent[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        reader.on("message", (t, payload, packet) => {
          if (t === marker) return resolve();
          if (payload.length === 0) return;
          try {
            letters.push(decodeMqtt({ payload, properties: (packet as Received).properties ?? {} }));
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
        reader
          .subscribeAsync([this.deadLetterFilterOf(topic, group), marker], { qos: 1 })
          .then(() => reader.publishAsync(marker, "", { qos: 1 }))
          .catch(reject);
      });
    } finally {
      await reader.endAsync();
    }
    return letters;
  }

  async subscribe(
    options: TransportSubscribeOptions,
    handler: MessageHandler,
  ): Promise<TransportSubscription> {
    if (options.ordered === true)
      throw new TransportCapabilityError(
        "the MQTT transport does not keep per-key order under retries (capabilities.keyOrdering is false)",
      );
    checkTopic(options.topic, "a topic");
    checkGroup(options.group);
    const member = new MqttGroupMember(this, this.#settings, options, handler, (m) =>
      this.#members.delete(m),
    );
    this.#members.add(member);
    try {
      await member.start();
    } catch (error) {
      this.#members.delete(member);
      throw error;
    }
    return member;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#members].map((m) => m.close()));
    await this.publisher.endAsync();
  }
}

interface Will {
  readonly clientId: string;
  readonly topic: string;
  readonly group: string;
}

interface Holding {
  readonly packet: Received;
  /** Deliveries before this one. */
  readonly before: number;
  settled: boolean;
  /** The not-before wait of a retried message. */
  timer?: NodeJS.Timeout;
  /** When the ack timeout hands it back (set once delivered to a handler). */
  deadline?: number;
  /** Its delivery count, for that hand-back. */
  count?: number;
}

class MqttGroupMember implements TransportSubscription {
  readonly topic: string;
  readonly group: string;
  readonly closed: Promise<void>;
  readonly clientId = `herald-${randomUUID()}`;
  readonly #transport: MqttTransport;
  readonly #settings: Settings;
  readonly #ackTimeoutMs: number;
  readonly #pool: DeliveryPool;
  readonly #retryTopic: string;
  readonly #membersFilter: string;
  readonly #recordTopic: string;
  readonly #record: Buffer;
  readonly #forget: (member: MqttGroupMember) => void;
  /** Received, not yet PUBACKed (running, or waiting for their not-before). */
  readonly #holding = new Set<Holding>();
  #sweeper: NodeJS.Timeout | undefined;
  readonly #adopting = new Set<string>();
  /** Open adoptions, stopped when this member closes (the session they hold waits for the next one). */
  readonly #adopters = new Set<MqttClient>();
  #client: MqttClient | undefined;
  #closing: Promise<void> | undefined;
  #resolveClosed!: () => void;

  constructor(
    transport: MqttTransport,
    settings: Settings,
    options: TransportSubscribeOptions,
    handler: MessageHandler,
    forget: (member: MqttGroupMember) => void,
  ) {
    this.topic = options.topic;
    this.group = options.group;
    this.#transport = transport;
    this.#settings = settings;
    this.#forget = forget;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? TRANSPORT_DEFAULTS.ackTimeoutMs;
    this.#retryTopic = transport.retryTopicOf(options.topic, options.group);
    this.#membersFilter = transport.memberTopicOf(options.topic, options.group, "+");
    this.#recordTopic = transport.memberTopicOf(options.topic, options.group, this.clientId);
    const record: Will = { clientId: this.clientId, topic: options.topic, group: options.group };
    this.#record = Buffer.from(JSON.stringify(record));
    const maxInFlight = options.maxInFlight ?? TRANSPORT_DEFAULTS.maxInFlight;
    this.#pool = new DeliveryPool(handler, {
      topic: options.topic,
      maxInFlight,
      maxDeliveries: options.maxDeliveries ?? TRANSPORT_DEFAULTS.maxDeliveries,
      deadLetter: (letter) => this.#storeDeadLetter(deadLetterEvent(letter, options.group)),
      onError: settings.onError,
    });
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  get #subscriptions(): string[] {
    return [`$share/${this.group}/${this.topic}`, `$share/${this.group}/${this.#retryTopic}`];
  }

  async start(): Promise<void> {
    const maxInFlight = this.#pool.free;
    this.#client = await open(this.#settings, {
      clientId: this.clientId,
      clean: false,
      properties: {
        sessionExpiryInterval: this.#settings.sessionExpirySeconds,
        // The broker sends at most this many unacknowledged messages: the handlers' slots.
        receiveMaximum: maxInFlight,
      },
      will: {
        topic: this.#recordTopic,
        payload: this.#record,
        qos: 1,
        retain: true,
        properties: {
          willDelayInterval: this.#settings.willDelaySeconds,
          // The record goes when the session it points to would have expired.
          messageExpiryInterval: this.#settings.sessionExpirySeconds,
        },
      },
      customHandleAcks: (_topic, _message, packet: Received, done) => {
        // Go on reading at once; the PUBACK is sent when the handler settles (see puback()).
        done(HOLD);
        this.#receive(packet);
      },
    });
    // Mosquitto 2.0 restores a persistent session after a restart, its plain subscriptions included,
    // but not its shared ones (measured on 2.0.11): every reconnect subscribes them again.
    this.#client.on("connect", () => {
      if (!this.#pool.closing)
        // `resubscribe`: MQTT.js would otherwise skip topics it believes subscribed.
        this.#client!.subscribeAsync(
          Object.assign(Object.fromEntries(this.#subscriptions.map((t) => [t, { qos: 1 as const }])), {
            resubscribe: true,
          }),
        ).catch((error: unknown) =>
          this.#settings.onError(new Error(`resubscribing after a reconnect: ${String(error)}`)),
        );
    });
    this.#client.on("disconnect", (packet) => {
      // 0x8E: another connection took this session over (a member that thought this one dead).
      if (packet.reasonCode === 0x8e) {
        this.#settings.onError(new Error(`member ${this.clientId} was taken over; it stops`));
        // No reconnect (it would take the session back): what it holds is the adopter's now.
        this.#client!.end(true);
        void this.close({ drainMs: 0 });
      }
    });
    const grants = await this.#client.subscribeAsync([...this.#subscriptions, this.#membersFilter], {
      qos: 1,
    });
    for (const grant of grants) {
      if (grant.qos !== 1)
        throw new Error(`the broker refused ${grant.topic} at QoS 1 (granted ${grant.qos})`);
    }
  }

  close(options: { readonly drainMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#close(options.drainMs ?? TRANSPORT_DEFAULTS.drainMs);
    return this.#closing;
  }

  async #close(drainMs: number): Promise<void> {
    const client = this.#client!;
    for (const adopter of this.#adopters) adopter.end(true);
    try {
      // Handlers get drainMs; their acks are written; what stays unsettled is handed back (retry topic).
      await this.#pool.drain(drainMs);
      if (client.connected) {
        // The session stays, subscribed: it keeps the group's messages while no member is connected
        // (and what it received while closing, unacknowledged). Its retained member record asks the
        // next member of the group to adopt it.
        await client.publishAsync(this.#recordTopic, this.#record, {
          qos: 1,
          retain: true,
          properties: { messageExpiryInterval: this.#settings.sessionExpirySeconds },
        });
        // A normal DISCONNECT: the broker drops the Will.
        await client.endAsync(false, { reasonCode: 0 });
      } else {
        client.end(true);
      }
    } catch (error) {
      this.#settings.onError(error instanceof Error ? error : new Error(String(error)));
      client.end(true);
    } finally {
      for (const h of this.#holding) clearTimeout(h.timer);
      clearInterval(this.#sweeper);
      this.#forget(this);
      this.#resolveClosed();
    }
  }

  #receive(packet: Received): void {
    const client = this.#client!;
    if (packet.topic.startsWith(`${this.#settings.prefix}/members/`)) {
      void puback(client, packet.messageId).catch(() => undefined);
      this.#onWill(packet);
      return;
    }
    const before = Number(userProperty(packet, DELIVERIES_PROPERTY) ?? "0") || 0;
    const retried = packet.topic === this.#retryTopic;
    const h: Holding = { packet, before: before + (packet.dup ? 1 : 0), settled: false };
    // Closing: left unacknowledged in the session, for the member that adopts it.
    if (this.#pool.closing) return;
    this.#holding.add(h);
    let event: CloudEvent;
    try {
      event = decodeMqtt({ payload: packet.payload, properties: packet.properties ?? {} });
    } catch (error) {
      // Not a CloudEvent: redelivering it cannot help; report it and ack it away.
      this.#settings.onError(new Error(`a message on ${packet.topic} is not a CloudEvent: ${String(error)}`));
      void this.#ack(h).catch(() => undefined);
      return;
    }
    const wait = retried ? (notBeforeOf(packet) ?? 0) - Date.now() : 0;
    if (wait > 0) h.timer = setTimeout(() => this.#deliver(h, event), wait);
    else this.#deliver(h, event);
  }

  #deliver(h: Holding, event: CloudEvent): void {
    h.timer = undefined;
    if (h.settled) return;
    if (this.#pool.closing) return;
    const count = h.before + 1;
    // Neither acked nor nacked in ackTimeoutMs: handed back (a late settlement is then ignored). One
    // sweep per member rather than a timer per message.
    h.deadline = Date.now() + this.#ackTimeoutMs;
    h.count = count;
    this.#sweeper ??= setInterval(
      () => this.#sweep(),
      Math.max(10, Math.min(1_000, this.#ackTimeoutMs / 10)),
    ).unref();
    this.#pool.deliver(event, count, {
      ack: () => this.#ack(h),
      nack: (delayMs) => this.#retry(h, count, delayMs > 0 ? Date.now() + delayMs : undefined),
    });
  }

  /** Hands back what is past its ack timeout (at most a tenth of ackTimeoutMs, or 1 s, late). */
  #sweep(): void {
    const now = Date.now();
    for (const h of this.#holding) {
      if (h.settled || h.deadline === undefined || h.deadline > now) continue;
      // A hand-back that fails (connection lost) is tried again after another ack timeout.
      h.deadline = now + this.#ackTimeoutMs;
      void this.#retry(h, h.count ?? h.before + 1, undefined).catch(this.#settings.onError);
    }
  }

  async #ack(h: Holding): Promise<void> {
    if (h.settled) return;
    h.settled = true;
    clearTimeout(h.timer);
    this.#holding.delete(h);
    await puback(this.#client!, h.packet.messageId);
  }

  /** A copy to the group's retry topic (after `deliveries` deliveries), then the PUBACK. */
  async #retry(h: Holding, deliveries: number, notBefore: number | undefined): Promise<void> {
    if (h.settled) return;
    h.settled = true;
    clearTimeout(h.timer);
    const copy = copyOf(h.packet, deliveries, notBefore);
    try {
      await this.#client!.publishAsync(this.#retryTopic, copy.payload, copy.options);
    } catch (error) {
      // Not handed back: left unacknowledged in the session (redelivered if this member resumes it).
      h.settled = false;
      throw error;
    }
    this.#holding.delete(h);
    await puback(this.#client!, h.packet.messageId);
  }

  async #storeDeadLetter(letter: CloudEvent): Promise<void> {
    const topic = `${this.#settings.prefix}/deadletter/${this.group}/${this.topic}/${randomUUID()}`;
    const w = wire(letter, this.#settings.mode, { retain: true });
    await this.#client!.publishAsync(topic, w.payload, w.options);
  }

  #onWill(packet: Received): void {
    if (packet.payload.length === 0) return;
    let will: Will;
    try {
      will = JSON.parse(packet.payload.toString()) as Will;
    } catch {
      return;
    }
    if (
      will.clientId === this.clientId ||
      will.group !== this.group ||
      will.topic !== this.topic ||
      this.#adopting.has(will.clientId)
    )
      return;
    if (this.#pool.closing) return;
    this.#adopting.add(will.clientId);
    void this.#adopt(will, packet.topic)
      .catch((error: unknown) =>
        this.#settings.onError(new Error(`adopting ${will.clientId}: ${String(error)}`, { cause: error })),
      )
      .finally(() => this.#adopting.delete(will.clientId));
  }

  /**
   * Takes over a dead member's session: stops its subscriptions, republishes every message it holds
   * to its retry topic (one at a time: the PUBACK follows the republish), and ends it. Carries the
   * same Will, so that the session is adopted again if this connection dies too.
   */
  async #adopt(will: Will, willTopic: string): Promise<void> {
    const retryTopic = this.#transport.retryTopicOf(will.topic, will.group);
    const marker = `${this.#settings.prefix}/marker/${randomUUID()}`;
    let done!: () => void;
    const drained = new Promise<void>((resolve) => {
      done = resolve;
    });
    const adopter = await open(this.#settings, {
      clientId: will.clientId,
      clean: false,
      reconnectPeriod: 0,
      properties: { sessionExpiryInterval: this.#settings.sessionExpirySeconds },
      will: {
        topic: willTopic,
        payload: Buffer.from(JSON.stringify(will)),
        qos: 1,
        retain: true,
        properties: {
          willDelayInterval: this.#settings.willDelaySeconds,
          // The record goes when the session it points to would have expired.
          messageExpiryInterval: this.#settings.sessionExpirySeconds,
        },
      },
      customHandleAcks: (topic, _message, packet: Received, ack) => {
        if (this.#pool.closing) return; // left in the session; no PUBACK
        if (topic === marker) {
          ack(0);
          done();
          return;
        }
        if (topic !== will.topic && topic !== retryTopic) return ack(0);
        const before = Number(userProperty(packet, DELIVERIES_PROPERTY) ?? "0") || 0;
        const copy = copyOf(packet, before + (packet.dup ? 1 : 0), notBeforeOf(packet));
        // Through this member's own connection: the adopter's reads wait for this PUBACK.
        this.#client!.publishAsync(retryTopic, copy.payload, copy.options).then(
          () => ack(0),
          (error: unknown) => ack(error instanceof Error ? error : new Error(String(error))),
        );
      },
    });
    this.#adopters.add(adopter);
    adopter.once("close", () => done());
    try {
      await adopter.unsubscribeAsync([
        `$share/${will.group}/${will.topic}`,
        `$share/${will.group}/${retryTopic}`,
        this.#membersFilter,
      ]);
      await adopter.subscribeAsync(marker, { qos: 1 });
      await adopter.publishAsync(marker, "", { qos: 1 });
      await withTimeout(drained, 60_000);
      if (!adopter.connected) return; // stopped (this member closes) or taken over by another adopter
      // Nothing left in it: forget the Will and end the session.
      await this.#client!.publishAsync(willTopic, "", { qos: 1, retain: true });
      await adopter.endAsync(false, { reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    } catch (error) {
      adopter.end(true);
      if (!this.#pool.closing) throw error;
    } finally {
      this.#adopters.delete(adopter);
    }
  }
}

function notBeforeOf(packet: Received): number | undefined {
  const value = Number(userProperty(packet, NOT_BEFORE_PROPERTY));
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
