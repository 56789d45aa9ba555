// The child process of `sigkillUnderLoad`: opens the transport of the module given as argv[2] (its
// `connect` export), consumes group "g" of topic argv[3] and publishes argv[4] events to it. It
// prints `P <id>` once a publish is acknowledged, `A <id>` before it acks a delivery and `C <id>`
// once the ack is confirmed, until it is killed.
import type { Transport } from "../transport/transport.js";
import { CloudEvent } from "@herald/cloudevents";

const [moduleUrl, topic, countText] = process.argv.slice(2);
if (moduleUrl === undefined || topic === undefined)
  throw new Error("usage: crash-child <module> <topic> [count]");
const count = Number(countText ?? "100000");
const { connect } = (await import(moduleUrl)) as { connect: () => Promise<Transport> };
const transport = await connect();
const out = (line: string) => process.stdout.write(`${line}\n`);

await transport.subscribe({ topic, group: "g", ackTimeoutMs: 1_000, maxInFlight: 32 }, async (m) => {
  out(`A ${m.event.id}`);
  await m.ack();
  out(`C ${m.event.id}`);
});
out("R");
for (let i = 0; i < count; i += 20) {
  const batch = Array.from(
    { length: Math.min(20, count - i) },
    (_, j) =>
      new CloudEvent({
        id: `${topic}-${i + j}`,
        source: "/herald/crash-test",
        type: "crash.test",
        data: { n: i + j },
      }),
  );
  await transport.publishBatch(topic, batch);
  for (const e of batch) out(`P ${e.id}`);
}
