// The transport contract against the real NATS JetStream (each case its own subjects and streams,
// deleted afterwards).
import { after, test } from "node:test";
import { decodeJsonEventObject } from "@herald/cloudevents";
import type { DeadLetterData } from "@herald/protocol";
import { EngineProcess, type StoredDeadLetter, transportContract } from "@herald/sdk/testing";
import { connectNatsTransport, type NatsTransport } from "@herald/transport-nats";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { natsUp, needsNats, servers } from "./support/nats.js";

const topics: string[] = [];

after(async () => {
  if (!natsUp || topics.length === 0) return;
  const nc = await connect({ servers });
  const jsm = await jetstreamManager(nc);
  const probe = await connectNatsTransport({ connection: nc });
  for (const topic of topics) {
    await jsm.streams.delete(probe.streamOf(topic)).catch(() => false);
    await jsm.streams.delete(probe.deadLetterOf(topic).stream).catch(() => false);
  }
  await nc.close();
});

if (natsUp)
  transportContract(
    "nats",
    {
      connect: (mode) => connectNatsTransport({ servers, ...(mode ? { contentMode: mode } : {}) }),
      topic: (token) => {
        const topic = `herald.ct.${token}`;
        topics.push(topic);
        return topic;
      },
      // A nats-server of the case's own, JetStream on, its store in a temporary directory.
      restartable: async () => {
        const engine = await EngineProcess.start({
          name: "nats",
          command: "nats-server",
          args: (port, dir) => ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir],
        });
        return {
          connect: (mode) =>
            connectNatsTransport({
              servers: `127.0.0.1:${engine.port}`,
              ...(mode ? { contentMode: mode } : {}),
            }),
          restart: () => engine.restart(),
          stop: () => engine.stop(),
        };
      },
      deadLetters: async (transport, topic, group): Promise<StoredDeadLetter[]> => {
        const letters = await (transport as NatsTransport).deadLetters(topic);
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
      newGroupsGetHistory: true,
      reconnect: true,
    },
  );
else test("Transport contract: nats", needsNats, () => {});
