// The RabbitMQ the tests use: 127.0.0.1:5672, guest/guest (HERALD_TEST_AMQP_URL overrides it). Without
// a reachable broker the tests skip locally, but fail under CI=true.
import amqp from "amqplib";

export const url = process.env["HERALD_TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672";

async function probe(): Promise<string | undefined> {
  try {
    const connection = await amqp.connect(url);
    await connection.close();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const problem = await probe();
if (problem !== undefined && process.env["CI"] === "true")
  throw new Error(`RabbitMQ is required under CI=true and is unreachable: ${problem}`);

export const amqpUp = problem === undefined;
/** `{ skip }` for node:test when RabbitMQ is unreachable (never under CI=true). */
export const needsAmqp: { skip?: string } = amqpUp ? {} : { skip: `RabbitMQ unreachable (${problem})` };

/** Deletes the exchange and queues of `topic` for `groups`. */
export async function deleteTopology(topics: readonly string[], groups: readonly string[]): Promise<void> {
  const { amqpNames } = await import("@herald/transport-amqp");
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  for (const topic of topics) {
    for (const group of groups) {
      const names = amqpNames(topic, group);
      await channel.deleteQueue(names.queue);
      await channel.deleteQueue(names.retryQueue);
    }
    const names = amqpNames(topic, "");
    await channel.deleteQueue(names.deadLetterQueue);
    await channel.deleteExchange(names.exchange);
  }
  await connection.close();
}
