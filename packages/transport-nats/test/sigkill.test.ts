// A process publishing and consuming through the NATS transport is killed with SIGKILL: nothing it
// saw acknowledged is lost, and every event is consumed at least once.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { sigkillUnderLoad } from "@herald/sdk/testing";
import { connectNatsTransport } from "@herald/transport-nats";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import { needsNats, servers } from "./support/nats.js";

test(
  "SIGKILL under load: every acknowledged publish is stored and consumed at least once",
  needsNats,
  async () => {
    const topic = `herald.kill.${randomUUID().slice(0, 8)}`;
    try {
      const result = await sigkillUnderLoad({
        childModule: new URL("./support/crash-transport.js", import.meta.url).href,
        connect: () => connectNatsTransport({ servers }),
        topic,
      });
      assert.ok(result.published >= 400);
    } finally {
      const nc = await natsConnect({ servers });
      const jsm = await jetstreamManager(nc);
      const t = await connectNatsTransport({ connection: nc });
      await jsm.streams.delete(t.streamOf(topic)).catch(() => false);
      await jsm.streams.delete(t.deadLetterOf(topic).stream).catch(() => false);
      await nc.close();
    }
  },
);
