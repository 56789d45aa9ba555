// The broker restarts under a connected transport (a mosquitto of the test's own, persistence on):
// the member's session resumes, a message it held unacknowledged comes back to it, and once the
// member has subscribed again (Mosquitto 2.0.11 does not restore shared subscriptions) everything
// published is consumed. What is published before that is not delivered to the group (README).
import assert from "node:assert/strict";
import { test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import type { TransportMessage } from "@herald/sdk";
import { needsMqtt, restartableMosquitto } from "./support/mqtt.js";

const event = (id: string) =>
  new CloudEvent({ id, source: "/reconnect", type: "reconnect.test", data: { id } });

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test(
  "after a broker restart: held messages come back, the member resubscribes and consumes",
  needsMqtt,
  async () => {
    const engine = await restartableMosquitto();
    const transport = await engine.connect();
    try {
      const got: TransportMessage[] = [];
      const sub = await transport.subscribe(
        { topic: "r/1", group: "g", ackTimeoutMs: 120_000 },
        async (m) => {
          got.push(m);
          if (m.event.id === "held" && m.deliveryCount === 1) return new Promise<void>(() => undefined);
          await m.ack();
        },
      );
      await transport.publish("r/1", event("held"));
      await until("the held message", () => got.some((m) => m.event.id === "held"));
      await engine.restart();
      await until("the held message again, from the resumed session", () =>
        got.some((m) => m.event.id === "held" && m.deliveryCount === 2),
      );
      // Probes until the member is subscribed again (the first that arrives), then a batch.
      for (let i = 0; !got.some((m) => m.event.id.startsWith("probe-")); i++) {
        await transport.publish("r/1", event(`probe-${i}`)).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const after = Array.from({ length: 20 }, (_, i) => event(`after-${i}`));
      await transport.publishBatch("r/1", after);
      await until("every event published after the member came back", () =>
        after.every((e) => got.some((m) => m.event.id === e.id)),
      );
      await sub.close({ drainMs: 0 });
    } finally {
      await transport.close();
      await engine.stop();
    }
  },
);
