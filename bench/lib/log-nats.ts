// The peer: NATS JetStream with file storage, same payloads, async publish with acks.
// The stream is created at the start and deleted at the end of each measurement.
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
} from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";

export interface NatsPeer {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly subject: string;
  close(): Promise<void>;
}

export async function openNatsPeer(name: string): Promise<NatsPeer | undefined> {
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: process.env["NATS_URL"] ?? "127.0.0.1:4222", timeout: 2000 });
  } catch {
    return undefined;
  }
  const jsm = await jetstreamManager(nc);
  const stream = `HERALD_BENCH_${name}_${process.pid}`;
  const subject = `herald.bench.${name}.${process.pid}`;
  await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File });
  return {
    js: jetstream(nc),
    jsm,
    stream,
    subject,
    async close() {
      await jsm.streams.delete(stream).catch(() => false);
      await nc.drain();
    },
  };
}
