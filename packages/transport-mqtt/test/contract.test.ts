// The transport contract against the real Mosquitto (each case its own topics; sessions left behind
// expire after two minutes).
import { test } from "node:test";
import { decodeJsonEventObject } from "@herald/cloudevents";
import type { DeadLetterData } from "@herald/protocol";
import { type StoredDeadLetter, transportContract } from "@herald/sdk/testing";
import { connectMqttTransport, type MqttTransport } from "@herald/transport-mqtt";
import { mqttUp, needsMqtt, sessionExpirySeconds, url } from "./support/mqtt.js";

if (mqttUp)
  transportContract(
    "mqtt",
    {
      connect: (mode) =>
        connectMqttTransport({ url, sessionExpirySeconds, ...(mode ? { contentMode: mode } : {}) }),
      topic: (token) => `herald-ct/${token}`,
      deadLetters: async (transport, topic, group): Promise<StoredDeadLetter[]> => {
        const letters = await (transport as MqttTransport).deadLetters(topic, group);
        return letters
          .map((l) => l.data as DeadLetterData & { consumer: string })
          .filter((d) => d.consumer === group)
          .map((d) => ({
            event: decodeJsonEventObject(d.event),
            reason: d.reason,
            attempts: d.attempts,
            lastError: d.lastError,
          }));
      },
    },
    {
      keyOrdering: false,
      nackDelay: true,
      deadLetter: true,
      contentModes: true,
      ackTimeout: true,
      newGroupsGetHistory: false,
    },
  );
else test("Transport contract: mqtt", needsMqtt, () => {});
