// Inbound bridges: each source of the `inbound` setting is a consumer group on its engine, through the
// engine's transport (its subscribe side). A message is acknowledged to the engine only once its event
// is durable in the log (at least once); a redelivery appends the same source+id again, which the log
// answers as a duplicate (deduped). An event the server refuses (limits, type prefixes, system streams)
// is nacked with the refusal as its error until maxDeliveries, then the transport moves it to the
// engine's dead letters; a storage failure is nacked with a backoff. A message that is not a CloudEvent
// is dropped by the transport (NATS: terminated; Redis: acked, it stays in the stream; AMQP: rejected
// without requeue; MQTT: a negative PUBACK), logged and counted. MQTT reads through mqtt-inbound.ts. An engine that is down at start, or a connection that ends
// (amqplib does not reconnect), is retried in the background.
import type { BridgeHost, EngineUrl, InboundSourceConfig, Logger } from "@herald/server";
import { parseEngineUrl } from "@herald/server";
import type { MessageHandler, TransportMessage, TransportSubscription } from "@herald/sdk";
import type { BridgeMetrics } from "./metrics.js";
import { type InboundEngine, openMqttInbound } from "./mqtt-inbound.js";
import { boundedBy } from "./outbound.js";

/** Backoff of a message that could not be stored (storage trouble): 200 ms doubling to 5 s. */
const FAILED_BASE_MS = 200;
const FAILED_CAP_MS = 5_000;
/** A refused event comes back after this (then the engine's dead letters, after maxDeliveries). */
const REFUSED_DELAY_MS = 100;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;

/** Engines an inbound source can read from. */
export const INBOUND_ENGINES = ["nats", "amqp", "redis", "mqtt"] as const;

export class InboundSource {
  readonly name: string;
  readonly #config: InboundSourceConfig;
  readonly #url: EngineUrl;
  readonly #host: BridgeHost;
  readonly #metrics: BridgeMetrics;
  readonly #logger: Logger;
  #transport: InboundEngine | undefined;
  #subscription: TransportSubscription | undefined;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #connected: Promise<void>;
  #resolveConnected!: () => void;

  constructor(config: InboundSourceConfig, host: BridgeHost, metrics: BridgeMetrics) {
    this.name = config.name;
    this.#config = config;
    this.#url = parseEngineUrl(config.url, "inbound");
    if (!(INBOUND_ENGINES as readonly string[]).includes(this.#url.engine)) {
      throw new Error(
        `inbound source ${config.name}: ${this.#url.engine} is not supported for inbound (${INBOUND_ENGINES.join(", ")})`,
      );
    }
    this.#host = host;
    this.#metrics = metrics;
    this.#logger = host.logger.child({ bridge: config.name, engine: this.#url.engine });
    this.#connected = new Promise((resolve) => {
      this.#resolveConnected = resolve;
    });
  }

  get engine(): string {
    return this.#url.engine;
  }

  /** Resolves once the group consumes (for tests and start-up logs); never rejects. */
  get connected(): Promise<void> {
    return this.#connected;
  }

  /** Starts consuming in the background (connecting, and reconnecting when the connection ends). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops taking messages, waits up to drainMs for the appends in flight, closes the connection. */
  async stop(drainMs: number): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#subscription?.close({ drainMs }).catch(() => undefined);
    // A connection attempt still under way (an engine that is down) does not hold up shutdown.
    await boundedBy(drainMs + 2_000, this.#loop ?? Promise.resolve());
  }

  async #run(): Promise<void> {
    let wait = RECONNECT_MIN_MS;
    while (!this.#stopping) {
      try {
        this.#transport = await this.#open();
        if (this.#stopping) break;
        this.#subscription = await this.#transport.subscribe(
          {
            topic: this.#url.target,
            group: this.#config.group,
            maxInFlight: this.#config.maxInFlight,
            maxDeliveries: this.#config.maxDeliveries,
            ackTimeoutMs: this.#config.ackTimeoutMs,
          },
          this.#handle,
        );
        this.#logger.info({ topic: this.#url.target, group: this.#config.group }, "inbound bridge consuming");
        this.#resolveConnected();
        wait = RECONNECT_MIN_MS;
        // Until it ends: closed by stop(), or by the engine (a connection amqplib does not bring back).
        await Promise.race([this.#subscription.closed, this.#transportEnded()]);
        if (!this.#stopping) this.#logger.warn("inbound bridge connection ended; reconnecting");
      } catch (error) {
        if (this.#stopping) break;
        this.#logger.warn({ err: error, retryInMs: wait }, "inbound bridge cannot consume; retrying");
      }
      await this.#closeTransport();
      if (this.#stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wait = Math.min(RECONNECT_MAX_MS, wait * 2);
    }
    await this.#closeTransport();
  }

  readonly #handle: MessageHandler = async (message: TransportMessage) => {
    const engine = this.#url.engine;
    this.#metrics.inFlight(this.name, engine, 1);
    this.#unacked++;
    try {
      const [result] = await this.#host.ingest(
        [message.event],
        this.#config.typePrefixes !== undefined ? { typePrefixes: this.#config.typePrefixes } : {},
      );
      this.#metrics.inbound(this.name, engine, result?.duplicate === true ? "duplicate" : "ingested");
      await message.ack();
    } catch (error) {
      const refused = isRefusal(error);
      this.#metrics.inbound(this.name, engine, refused ? "refused" : "failed");
      this.#logger.warn(
        {
          err: error,
          id: message.event.id,
          source: message.event.source,
          deliveryCount: message.deliveryCount,
        },
        refused ? "inbound event refused" : "inbound event not stored; it will be redelivered",
      );
      const delayMs = refused
        ? REFUSED_DELAY_MS
        : Math.min(FAILED_CAP_MS, FAILED_BASE_MS * 2 ** (message.deliveryCount - 1));
      await message.nack({ delayMs, error: error instanceof Error ? error : new Error(String(error)) });
    } finally {
      this.#unacked--;
      this.#metrics.inFlight(this.name, engine, -1);
    }
  };

  async #open(): Promise<InboundEngine> {
    const url = this.#url;
    const onError = (error: Error) => {
      if (/not a CloudEvent/.test(error.message)) {
        this.#metrics.inbound(this.name, url.engine, "invalid");
        this.#logger.warn({ err: error }, "inbound message is not a CloudEvent; dropped");
      } else this.#logger.warn({ err: error }, "inbound bridge error");
    };
    switch (url.engine) {
      case "nats": {
        const { connectNatsTransport, defaultStreamName } = await import("@herald/transport-nats");
        const { connect } = await import("@nats-io/transport-node");
        const connection = await connect({
          servers: `${url.host.includes(":") ? `[${url.host}]` : url.host}:${url.port}`,
          ...(url.username !== undefined ? { user: url.username } : {}),
          ...(url.password !== undefined ? { pass: url.password } : {}),
          ...(url.secure ? { tls: {} } : {}),
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
        });
        this.#ended = connection.closed().then(() => undefined);
        this.#owned = () => connection.close();
        const stream = url.stream;
        return await connectNatsTransport({
          connection,
          onError,
          ...(stream !== undefined ? { streamName: () => stream } : { streamName: defaultStreamName }),
        });
      }
      case "redis": {
        const { connectRedisTransport } = await import("@herald/transport-redis");
        const transport = connectRedisTransport({
          url: url.connection,
          streamKey: (topic) => topic,
          onError,
        });
        transport.redis.on("error", () => undefined);
        // ioredis connects lazily and reconnects by itself: make a first round trip so a Redis that is
        // down is reported (and retried) here.
        await transport.redis.ping();
        this.#ended = new Promise(() => undefined);
        this.#owned = undefined;
        return transport;
      }
      case "mqtt": {
        // One persistent session per source and group: the client id names both.
        // The URL's hash too: another topic is another session, not the old one's queue.
        const { createHash } = await import("node:crypto");
        const where = createHash("sha256").update(this.#config.url).digest("hex").slice(0, 12);
        const clientId = `herald-${this.#config.group}-${this.name}`
          .replace(/[^A-Za-z0-9_-]/g, "_")
          .slice(0, 100)
          .concat(`-${where}`);
        this.#ended = new Promise(() => undefined);
        this.#owned = undefined;
        return openMqttInbound(url, clientId, onError);
      }
      default: {
        const { connectAmqpTransport } = await import("@herald/transport-amqp");
        const transport = await connectAmqpTransport({ url: url.connection, onError });
        this.#ended = new Promise((resolve) => transport.connection.once("close", () => resolve()));
        this.#owned = undefined;
        return transport;
      }
    }
  }

  /**
   * Messages the engine holds for the group and Herald has not acknowledged (NATS: pending + unacked;
   * Redis: the group's `lag` + its pending list; RabbitMQ: ready + unacked in the group's queue), or
   * undefined while not connected.
   */
  async lag(): Promise<number | undefined> {
    const transport = this.#transport;
    if (transport === undefined || this.#subscription === undefined) return undefined;
    const group = this.#config.group;
    switch (this.#url.engine) {
      case "mqtt":
        // MQTT does not tell how much a session has queued.
        return undefined;
      case "nats": {
        const { jetstreamManager } = await import("@nats-io/jetstream");
        const nats = transport as import("@herald/transport-nats").NatsTransport;
        const jsm = await jetstreamManager(nats.connection);
        const info = await jsm.consumers.info(
          nats.streamOf(this.#url.target),
          group.replace(/[^A-Za-z0-9_-]/g, "_"),
        );
        return info.num_pending + info.num_ack_pending;
      }
      case "redis": {
        const redis = (transport as import("@herald/transport-redis").RedisTransport).redis;
        const groups = (await redis.call("XINFO", "GROUPS", this.#url.target)) as unknown[][];
        for (const row of groups) {
          const fields = new Map<string, unknown>();
          for (let i = 0; i + 1 < row.length; i += 2) fields.set(String(row[i]), row[i + 1]);
          if (fields.get("name") !== group) continue;
          const lag = Number(fields.get("lag") ?? 0);
          return (Number.isFinite(lag) ? lag : 0) + Number(fields.get("pending") ?? 0);
        }
        return 0;
      }
      default: {
        const amqp = transport as import("@herald/transport-amqp").AmqpTransport;
        const { queue } = amqp.names(this.#url.target, group);
        // A channel per look: checkQueue closes its channel when the queue is gone.
        const channel = await amqp.connection.createChannel();
        channel.on("error", () => undefined);
        try {
          const { messageCount } = await channel.checkQueue(queue);
          return messageCount + this.#unacked;
        } finally {
          await channel.close().catch(() => undefined);
        }
      }
    }
  }

  /** Messages being handled now (RabbitMQ's messageCount counts only the ready ones). */
  #unacked = 0;

  #ended: Promise<void> = new Promise(() => undefined);
  #owned: (() => Promise<void>) | undefined;

  #transportEnded(): Promise<void> {
    return this.#ended;
  }

  async #closeTransport(): Promise<void> {
    const transport = this.#transport;
    this.#transport = undefined;
    this.#subscription = undefined;
    if (transport !== undefined) await transport.close().catch(() => undefined);
    const owned = this.#owned;
    this.#owned = undefined;
    if (owned !== undefined) await owned().catch(() => undefined);
  }
}

/** A refusal of the server (a problem with a 4xx status): the event will never be accepted as it is. */
function isRefusal(error: unknown): boolean {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === "number" && status >= 400 && status < 500;
}
