// A member that takes messages and never settles them, until it is killed: argv[2] is the topic.
// Prints `H <id> <deliveryCount>` for each message it holds.
import { connect } from "./crash-transport.js";

const topic = process.argv[2];
if (topic === undefined) throw new Error("usage: hold-child <topic>");
const transport = await connect();
await transport.subscribe({ topic, group: "g", maxInFlight: 8, ackTimeoutMs: 600_000 }, async (m) => {
  process.stdout.write(`H ${m.event.id} ${m.deliveryCount}\n`);
  await new Promise<void>(() => undefined);
});
process.stdout.write("R\n");
