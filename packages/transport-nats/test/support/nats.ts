// The NATS server the tests use: 127.0.0.1:4222 with JetStream (HERALD_TEST_NATS_URL overrides it).
// Without a reachable server the tests skip locally, but fail under CI=true.
import { connect, type NatsConnection } from "@nats-io/transport-node";

export const servers = process.env["HERALD_TEST_NATS_URL"] ?? "127.0.0.1:4222";

async function probe(): Promise<string | undefined> {
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({ servers, timeout: 2_000 });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await nc?.close();
  }
}

const problem = await probe();
if (problem !== undefined && process.env["CI"] === "true")
  throw new Error(`NATS is required under CI=true and is unreachable: ${problem}`);

export const natsUp = problem === undefined;
/** `{ skip }` for node:test when NATS is unreachable (never under CI=true). */
export const needsNats: { skip?: string } = natsUp ? {} : { skip: `NATS unreachable (${problem})` };
