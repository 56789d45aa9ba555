// A process publishing and consuming through the AMQP transport is killed with SIGKILL: nothing it
// saw confirmed is lost, and every event is consumed at least once (the broker requeues what the dead
// connection held).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { sigkillUnderLoad } from "@herald/sdk/testing";
import { connectAmqpTransport } from "@herald/transport-amqp";
import { deleteTopology, needsAmqp, url } from "./support/amqp.js";

test(
  "SIGKILL under load: every confirmed publish is stored and consumed at least once",
  needsAmqp,
  async () => {
    const topic = `kill-${randomUUID().slice(0, 8)}`;
    try {
      const result = await sigkillUnderLoad({
        childModule: new URL("./support/crash-transport.js", import.meta.url).href,
        connect: () => connectAmqpTransport({ url }),
        topic,
      });
      assert.ok(result.published >= 400);
    } finally {
      await deleteTopology([topic], ["g", `verify-${process.pid}`]);
    }
  },
);
