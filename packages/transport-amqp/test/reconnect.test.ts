// amqplib does not reconnect; the transport does. The broker closes this transport's connection (as
// `rabbitmqctl close_connection` does for an operator, or a broker restart does for everyone):
// the transport connects again, reopens its member's channel and consumer, and everything published
// and acknowledged afterwards is consumed; a message held unacked at the close comes back, counted.
// RabbitMQ cannot be started per test here, so this closes only the test's own connection.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { CloudEvent } from "@herald/cloudevents";
import type { TransportMessage } from "@herald/sdk";
import { connectAmqpTransport } from "@herald/transport-amqp";
import { deleteTopology, needsAmqp } from "./support/amqp.js";
import { url } from "./support/amqp.js";

const run = promisify(execFile);
const topic = `reconnect-${randomUUID().slice(0, 8)}`;
const connectionName = `herald-test-${randomUUID()}`;

after(async () => {
  if (!needsAmqp.skip) await deleteTopology([topic], ["g"]);
});

/** Closes the connection named `name` from the server side. */
async function closeFromServer(name: string): Promise<void> {
  const { stdout } = await run("rabbitmqctl", [
    "list_connections",
    "pid",
    "client_properties",
    "-q",
    "--no-table-headers",
  ]);
  const line = stdout.split("\n").find((l) => l.includes(name));
  assert.ok(line, `connection ${name} listed by rabbitmqctl`);
  const pid = line.split("\t")[0]!.trim();
  await run("rabbitmqctl", ["close_connection", pid, "closed by the reconnect test"]);
}

const event = (id: string) =>
  new CloudEvent({ id, source: "/reconnect", type: "reconnect.test", data: { id } });

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("a connection closed by the broker: the transport reconnects and goes on", needsAmqp, async () => {
  const errors: string[] = [];
  const transport = await connectAmqpTransport({
    url,
    clientProperties: { connection_name: connectionName },
    onError: (error) => errors.push(error.message),
  });
  try {
    const got: TransportMessage[] = [];
    await transport.subscribe({ topic, group: "g" }, async (m) => {
      got.push(m);
      if (m.event.id === "held" && m.deliveryCount === 1) return new Promise<void>(() => undefined);
      await m.ack();
    });
    await transport.publishBatch(topic, [event("held"), event("before")]);
    await until("the events published before", () => got.length >= 2);
    const old = transport.connection;
    await closeFromServer(connectionName);
    await until("a new connection", () => transport.connection !== old);
    const after = Array.from({ length: 10 }, (_, i) => event(`after-${i}`));
    await transport.publishBatch(topic, after);
    await until("every event published after the reconnect", () =>
      after.every((e) => got.some((m) => m.event.id === e.id)),
    );
    await until("the held message, requeued by the broker", () =>
      got.some((m) => m.event.id === "held" && m.deliveryCount === 2),
    );
  } finally {
    await transport.close();
  }
});
