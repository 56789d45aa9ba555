// MQTT inbound, with the `mqtt` client and the MQTT binding directly (until an MQTT transport exists:
// the lead may switch it to @herald/transport-mqtt). One persistent MQTT 5 session per source (fixed
// client id, clean start off, a week of session expiry), subscribed with QoS 1: the broker queues what
// is published while the server is down and sends again what was never acknowledged. The PUBACK is held
// until the handler settles (customHandleAcks; mqtt.js hands over one message at a time). MQTT has no
// nack: a nack ends the connection without the PUBACK, and the broker redelivers when the source
// reconnects; the deliveries of an event are counted here (per process), and past maxDeliveries it is
// dropped with a negative PUBACK (MQTT has no dead letters), logged and counted.
import { type CloudEvent, decodeMqtt } from "@herald/cloudevents";
import type {
  MessageHandler,
  TransportMessage,
  TransportSubscribeOptions,
  TransportSubscription,
} from "@herald/sdk";
import type { EngineUrl } from "@herald/server";
import { boundedBy } from "./outbound.js";

/** The part of a transport an inbound source uses. */
export interface InboundEngine {
  subscribe(options: TransportSubscribeOptions, handler: MessageHandler): Promise<TransportSubscription>;
  close(): Promise<void>;
}

/** PUBACK reason codes: success, unspecified error, payload format invalid. */
const PUBACK_OK = 0;
const PUBACK_UNSPECIFIED = 0x80;
const PUBACK_PAYLOAD_INVALID = 0x99;
const SESSION_EXPIRY_S = 7 * 24 * 3600;

export function openMqttInbound(
  url: EngineUrl,
  clientId: string,
  onError: (error: Error) => void,
): InboundEngine {
  const members = new Set<TransportSubscription>();
  // Per source, not per connection: a nack ends the connection, the count must go on across them.
  const attempts = new Map<string, number>();
  return {
    subscribe: async (options, handler) => {
      const member = await subscribeMqtt(url, clientId, options, handler, onError, attempts);
      members.add(member);
      void member.closed.then(() => members.delete(member));
      return member;
    },
    close: async () => {
      await Promise.all([...members].map((m) => m.close()));
    },
  };
}

async function subscribeMqtt(
  url: EngineUrl,
  clientId: string,
  options: TransportSubscribeOptions,
  handler: MessageHandler,
  onError: (error: Error) => void,
  attempts: Map<string, number>,
): Promise<TransportSubscription> {
  const mqtt = await import("mqtt");
  const maxDeliveries = options.maxDeliveries ?? 10;
  let running: Promise<void> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let client: import("mqtt").MqttClient | undefined;
  const handle = async (
    topic: string,
    payload: Buffer,
    packet: MqttPublish,
    done: (error: Error | number, code?: number) => void,
  ): Promise<void> => {
    let event: CloudEvent;
    try {
      const properties = packet.properties ?? {};
      event = decodeMqtt({
        payload,
        properties: {
          ...(properties.contentType !== undefined ? { contentType: properties.contentType } : {}),
          ...(properties.userProperties !== undefined ? { userProperties: properties.userProperties } : {}),
        },
      });
    } catch (error) {
      onError(new Error(`a message on ${topic} is not a CloudEvent: ${String(error)}`));
      done(PUBACK_PAYLOAD_INVALID);
      return;
    }
    const key = `${event.source}\u0000${event.id}`;
    const deliveryCount = (attempts.get(key) ?? 0) + 1;
    if (attempts.size > 10_000) attempts.clear();
    attempts.set(key, deliveryCount);
    let settled = false;
    const message: TransportMessage = {
      event,
      topic,
      deliveryCount,
      ack: async () => {
        if (settled) return;
        settled = true;
        attempts.delete(key);
        done(PUBACK_OK);
      },
      nack: async (nack = {}) => {
        if (settled) return;
        settled = true;
        if (deliveryCount >= maxDeliveries) {
          attempts.delete(key);
          onError(
            new Error(
              `event ${event.id} from ${event.source} dropped after ${deliveryCount} deliveries (MQTT has no dead letters): ${nack.error?.message ?? "nacked"}`,
            ),
          );
          done(PUBACK_UNSPECIFIED);
          return;
        }
        // No PUBACK, a new session connection: the broker sends it again (after the source's backoff).
        client?.end(true);
      },
    };
    try {
      await handler(message);
    } catch (error) {
      await message.nack({ error: error instanceof Error ? error : new Error(String(error)) });
    }
  };

  client = await mqtt.connectAsync(
    url.connection,
    {
      protocolVersion: 5,
      clientId,
      clean: false,
      // The source reconnects itself (with backoff), and a nack needs a new connection.
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      properties: { sessionExpiryInterval: SESSION_EXPIRY_S, receiveMaximum: options.maxInFlight ?? 16 },
      ...(url.username !== undefined ? { username: url.username } : {}),
      ...(url.password !== undefined ? { password: url.password } : {}),
      customHandleAcks: (topic, payload, packet, done) => {
        running = handle(topic, payload, packet as MqttPublish, done);
      },
    },
    false,
  );
  const connected = client;
  connected.on("error", () => undefined);
  connected.on("close", () => resolveClosed());

  await connected.subscribeAsync(url.target, { qos: url.qos === 0 ? 0 : 1 });
  let closing: Promise<void> | undefined;
  return {
    topic: options.topic,
    group: options.group,
    closed,
    close: (closeOptions = {}) => {
      closing ??= (async () => {
        // The message being handled gets drainMs to settle; unacknowledged, it comes back next session.
        if (running !== undefined) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            running,
            new Promise<void>((resolve) => {
              timer = setTimeout(resolve, closeOptions.drainMs ?? 5_000);
            }),
          ]);
          clearTimeout(timer);
        }
        // A connection a nack already ended is not ended again (endAsync would never answer).
        if (!connected.disconnecting && !connected.disconnected) {
          await boundedBy(2_000, connected.endAsync(false));
        }
        connected.end(true);
        resolveClosed();
      })();
      return closing;
    },
  };
}

interface MqttPublish {
  readonly properties?: {
    readonly contentType?: string;
    readonly userProperties?: Record<string, string | string[]>;
  };
}
