// What the SIGKILL case rests on: a member killed while it holds messages (no PUBACK sent) and has
// more queued in its session. Mosquitto keeps both in the dead session and goes on assigning new
// messages to it (see the README); the transport's Will and session adoption bring them all back to
// the group, counted as redelivered.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import type { TransportMessage } from "@herald/sdk";
import { connectMqttTransport } from "@herald/transport-mqtt";
import { needsMqtt, sessionExpirySeconds, url } from "./support/mqtt.js";

const child = fileURLToPath(new URL("./support/hold-child.js", import.meta.url));

test(
  "a member killed while holding messages: a new member of its group gets every one",
  needsMqtt,
  async () => {
    const topic = `herald-crash/${randomUUID().slice(0, 8)}`;
    const proc = spawn(process.execPath, [child, topic], { stdio: ["ignore", "pipe", "inherit"] });
    const held = new Map<string, number>();
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      proc.once("exit", (_c, signal) => resolve(signal)),
    );
    let ready!: () => void;
    let holding!: () => void;
    const isReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const allHeld = new Promise<void>((resolve) => {
      holding = resolve;
    });
    let buffered = "";
    proc.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "R") ready();
        const [tag, id, count] = line.split(" ");
        if (tag === "H") held.set(id!, Number(count));
        if (held.size >= 8) holding();
      }
    });
    await isReady;
    const publisher = await connectMqttTransport({ url, sessionExpirySeconds });
    const sent = Array.from(
      { length: 30 },
      (_, i) => new CloudEvent({ id: `${topic}-${i}`, source: "/crash", type: "crash.held", data: { i } }),
    );
    try {
      await publisher.publishBatch(topic, sent.slice(0, 20));
      await allHeld; // 8 running (maxInFlight), 12 queued in its session
      proc.kill("SIGKILL");
      assert.equal(await exited, "SIGKILL");
      // Published while the group has no live member: the dead session still gets them.
      await publisher.publishBatch(topic, sent.slice(20));
      const got = new Map<string, TransportMessage>();
      const survivor = await publisher.subscribe({ topic, group: "g" }, async (m) => {
        got.set(m.event.id, m);
        await m.ack();
      });
      const deadline = Date.now() + 30_000;
      while (got.size < sent.length) {
        assert.ok(Date.now() < deadline, `only ${got.size} of ${sent.length} events reached the new member`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(new Set(got.keys()), new Set(sent.map((e) => e.id)));
      for (const [id, count] of held) {
        assert.ok(got.get(id)!.deliveryCount > count, `${id}: delivery count ${got.get(id)!.deliveryCount}`);
      }
      await survivor.close({ drainMs: 1_000 });
    } finally {
      proc.kill("SIGKILL");
      await publisher.close();
    }
  },
);
