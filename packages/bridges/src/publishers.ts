// The publish side of the outbound bridges, one publisher per engine connection. Each resolves once
// the engine acknowledged the event (JetStream PubAck, publisher confirm of a routed message, the
// XADD reply, MQTT PUBACK/PUBCOMP) and throws otherwise: a PermanentBridgeError when retrying cannot
// help (a missing exchange, a key of another type, a topic the broker refuses), anything else is
// retried. NATS and Redis go through their transport's publish (the same encoding the transports'
// consumers read); AMQP and MQTT publish with the engine client and the matching binding, since a
// bridge addresses an existing exchange with a routing key (the AMQP transport owns its fanout
// exchanges) and survives the channel a refused publish closes.
import { randomUUID } from "node:crypto";
import { type CloudEvent, encodeMqtt5 } from "@herald/cloudevents";
import type { EngineUrl } from "@herald/server";

export type ContentMode = "binary" | "structured";

/** Retrying cannot help: the delivery goes to the dead letters at once, with this reason. */
export class PermanentBridgeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PermanentBridgeError";
  }
}

export interface EnginePublisher {
  /** Resolves once the engine acknowledged the event; see the module comment for what it throws. */
  publish(url: EngineUrl, event: CloudEvent, timeoutMs: number): Promise<void>;
  /** Whether the connection is gone for good (the pool then opens a new one). */
  readonly broken: boolean;
  close(): Promise<void>;
}

/** Opens the publisher of one engine connection, loading the engine's client on first use. */
export async function openPublisher(url: EngineUrl, mode: ContentMode): Promise<EnginePublisher> {
  switch (url.engine) {
    case "nats":
      return await openNats(url, mode);
    case "redis":
      return await openRedis(url, mode);
    case "amqp":
      return await openAmqp(url, mode);
    case "mqtt":
      return await openMqtt(url, mode);
  }
}

async function openNats(url: EngineUrl, mode: ContentMode): Promise<EnginePublisher> {
  const { connectNatsTransport } = await import("@herald/transport-nats");
  const { connect } = await import("@nats-io/transport-node");
  const connection = await connect({
    servers: `${url.host.includes(":") ? `[${url.host}]` : url.host}:${url.port}`,
    ...(url.username !== undefined ? { user: url.username } : {}),
    ...(url.password !== undefined ? { pass: url.password } : {}),
    ...(url.secure ? { tls: {} } : {}),
    // The pooled connection outlives an engine restart.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  let broken = false;
  void connection.closed().then(() => {
    broken = true;
  });
  const transport = await connectNatsTransport({
    connection,
    contentMode: mode,
    // A subject no stream holds is not acknowledged: retried, then dead-lettered. Never created here.
    createStreams: false,
  });
  return {
    get broken() {
      return broken;
    },
    publish: (target, event, timeoutMs) =>
      withTimeout(transport.publish(target.target, event), timeoutMs, "no acknowledgement from JetStream"),
    close: async () => {
      await transport.close();
      await connection.close();
    },
  };
}

async function openRedis(url: EngineUrl, mode: ContentMode): Promise<EnginePublisher> {
  const { connectRedisTransport } = await import("@herald/transport-redis");
  const transport = connectRedisTransport({
    url: url.connection,
    // The bridge's stream key is the URL's path as it is.
    streamKey: (topic) => topic,
    contentMode: mode,
    // A command waits for one reconnection at most; the attempt's timeout bounds it anyway.
    redis: { maxRetriesPerRequest: 1, lazyConnect: false },
    onError: () => undefined,
  });
  transport.redis.on("error", () => undefined);
  return {
    broken: false,
    publish: async (target, event, timeoutMs) => {
      try {
        await withTimeout(transport.publish(target.target, event), timeoutMs, "no reply from Redis");
      } catch (error) {
        if (String(error).includes("WRONGTYPE")) {
          throw new PermanentBridgeError(`key ${target.target} holds a value that is not a stream`, {
            cause: error,
          });
        }
        throw error;
      }
    },
    close: async () => {
      // QUIT waits for a Redis that is down: cut the connection instead.
      if (transport.redis.status !== "ready") transport.redis.disconnect();
      else await transport.close().catch(() => transport.redis.disconnect());
    },
  };
}

async function openAmqp(url: EngineUrl, mode: ContentMode): Promise<EnginePublisher> {
  const amqp = (await import("amqplib")).default;
  const model = await amqp.connect(url.connection);
  let broken = false;
  model.on("error", () => undefined);
  model.on("close", () => {
    broken = true;
  });
  // One confirm channel per exchange: a publish the broker refuses (404) closes its channel only.
  const channels = new Map<string, Promise<AmqpChannel>>();
  const channelFor = (exchange: string): Promise<AmqpChannel> => {
    let channel = channels.get(exchange);
    if (channel === undefined) {
      channel = openAmqpChannel(model, () => channels.delete(exchange));
      channel.catch(() => channels.delete(exchange));
      channels.set(exchange, channel);
    }
    return channel;
  };
  return {
    get broken() {
      return broken;
    },
    publish: async (target, event, timeoutMs) => {
      const channel = await channelFor(target.target);
      await withTimeout(channel.publish(target, event, mode), timeoutMs, "no confirm from RabbitMQ");
    },
    close: async () => {
      await model.close().catch(() => undefined);
    },
  };
}

interface AmqpChannel {
  publish(target: EngineUrl, event: CloudEvent, mode: ContentMode): Promise<void>;
}

async function openAmqpChannel(
  model: import("amqplib").ChannelModel,
  onClosed: () => void,
): Promise<AmqpChannel> {
  const { amqpMessage } = await import("@herald/transport-amqp");
  const channel = await model.createConfirmChannel();
  let closeError: (Error & { code?: number }) | undefined;
  // Messages returned as unroutable (mandatory), by the id given at publish.
  const returned = new Set<string>();
  channel.on("error", (error: Error & { code?: number }) => {
    closeError = error;
  });
  channel.on("close", onClosed);
  channel.on("return", (message: { properties: { messageId?: unknown } }) => {
    if (typeof message.properties.messageId === "string") returned.add(message.properties.messageId);
  });
  return {
    publish: (target, event, mode) => {
      const { body, headers, contentType } = amqpMessage(event, mode);
      const messageId = randomUUID();
      return new Promise<void>((resolve, reject) => {
        const settle = (error: unknown) => {
          if (error) {
            // The broker closed the channel: a missing exchange or no access will not heal by itself.
            if (closeError?.code === 404 || closeError?.code === 403) {
              reject(new PermanentBridgeError(closeError.message, { cause: closeError }));
            } else reject(error instanceof Error ? error : new Error(String(error)));
          } else if (returned.delete(messageId)) {
            reject(
              new Error(
                `unroutable: no queue is bound to exchange ${target.target} for routing key ${JSON.stringify(target.routingKey)}`,
              ),
            );
          } else resolve();
        };
        try {
          channel.publish(
            target.target,
            target.routingKey,
            body,
            {
              persistent: true,
              mandatory: true,
              messageId,
              headers,
              ...(contentType === undefined ? {} : { contentType }),
            },
            settle,
          );
        } catch (error) {
          // "Channel closed": the next attempt opens a new one.
          settle(error);
        }
      });
    },
  };
}

/** MQTT 5 reason codes a retry cannot change: not authorized, topic name invalid, too large, bad payload format. */
const MQTT_PERMANENT = new Set([0x87, 0x90, 0x95, 0x99]);

async function openMqtt(url: EngineUrl, mode: ContentMode): Promise<EnginePublisher> {
  const mqtt = await import("mqtt");
  // allowRetries false: a broker that is down fails this attempt (retried later with a new client).
  const client = await mqtt.connectAsync(
    url.connection,
    {
      protocolVersion: 5,
      reconnectPeriod: 500,
      connectTimeout: 5_000,
      clean: true,
      clientId: `herald-bridge-${randomUUID().slice(0, 8)}`,
      ...(url.username !== undefined ? { username: url.username } : {}),
      ...(url.password !== undefined ? { password: url.password } : {}),
    },
    false,
  );
  client.on("error", () => undefined);
  return {
    broken: false,
    publish: async (target, event, timeoutMs) => {
      if (!client.connected) throw new Error(`not connected to the MQTT broker ${target.display}`);
      const message = encodeMqtt5(event, mode);
      const properties = message.properties ?? {};
      try {
        await withTimeout(
          client.publishAsync(
            target.target,
            typeof message.payload === "string" ? message.payload : Buffer.from(message.payload),
            {
              qos: target.qos,
              properties: {
                ...(properties.contentType === undefined ? {} : { contentType: properties.contentType }),
                ...(properties.userProperties === undefined
                  ? {}
                  : { userProperties: properties.userProperties }),
              },
            },
          ),
          timeoutMs,
          "no PUBACK from the MQTT broker",
        );
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (typeof code === "number" && MQTT_PERMANENT.has(code)) {
          throw new PermanentBridgeError(`the broker refused the publish (reason code ${code})`, {
            cause: error,
          });
        }
        throw error;
      }
    },
    close: async () => {
      await client.endAsync(true).catch(() => undefined);
    },
  };
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
