// A process publishing and consuming through the MQTT transport is killed with SIGKILL: nothing it
// saw acknowledged is lost, and every event is consumed at least once (the dead member's session is
// adopted through its Will by the new member of the group).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { sigkillUnderLoad } from "@herald/sdk/testing";
import { connectMqttTransport } from "@herald/transport-mqtt";
import { needsMqtt, sessionExpirySeconds, url } from "./support/mqtt.js";

test(
  "SIGKILL under load: every acknowledged publish is stored and consumed at least once",
  needsMqtt,
  async () => {
    const result = await sigkillUnderLoad({
      childModule: new URL("./support/crash-transport.js", import.meta.url).href,
      connect: () => connectMqttTransport({ url, sessionExpirySeconds }),
      topic: `herald-kill/${randomUUID().slice(0, 8)}`,
    });
    assert.ok(result.published >= 400);
  },
);
