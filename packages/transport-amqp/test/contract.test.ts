// The transport contract against the real RabbitMQ (each case its own exchange and queues, deleted
// afterwards).
import { after, test } from "node:test";
import { decodeJsonEventObject } from "@herald/cloudevents";
import type { DeadLetterData } from "@herald/protocol";
import { type StoredDeadLetter, transportContract } from "@herald/sdk/testing";
import { type AmqpTransport, connectAmqpTransport } from "@herald/transport-amqp";
import { amqpUp, deleteTopology, needsAmqp, url } from "./support/amqp.js";

const topics: string[] = [];

after(async () => {
  if (amqpUp && topics.length > 0) await deleteTopology(topics, ["g", "shared", "other", "router"]);
});

if (amqpUp)
  transportContract(
    "amqp",
    {
      connect: (mode) => connectAmqpTransport({ url, ...(mode ? { contentMode: mode } : {}) }),
      topic: (token) => {
        const topic = `ct-${token}`;
        topics.push(topic);
        return topic;
      },
      deadLetters: async (transport, topic, group): Promise<StoredDeadLetter[]> => {
        const letters = await (transport as AmqpTransport).deadLetters(topic);
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
    // RabbitMQ's consumer timeout is the broker's (minutes), not a subscription's: no ackTimeout. A queue
    // gets only what is published once it is bound: no history for new groups.
    {
      keyOrdering: false,
      nackDelay: true,
      deadLetter: true,
      contentModes: true,
      ackTimeout: false,
      newGroupsGetHistory: false,
      reconnect: false,
    },
  );
else test("Transport contract: amqp", needsAmqp, () => {});
