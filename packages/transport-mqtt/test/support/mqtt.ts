// The MQTT broker the tests use: Mosquitto at mqtt://127.0.0.1:1883 (HERALD_TEST_MQTT_URL overrides it).
// Without a reachable broker the tests skip locally, but fail under CI=true.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RestartableEngine } from "@herald/sdk/testing";
import { EngineProcess } from "@herald/sdk/testing";
import { connectMqttTransport } from "@herald/transport-mqtt";
import mqtt from "mqtt";

export const url = process.env["HERALD_TEST_MQTT_URL"] ?? "mqtt://127.0.0.1:1883";

function probe(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 2_000 });
    const done = (problem: string | undefined) => {
      client.end(true);
      resolve(problem);
    };
    client.once("connect", () => done(undefined));
    client.once("error", (error) => done(error.message));
    client.once("close", () => done("connection closed"));
  });
}

const problem = await probe();
if (problem !== undefined && process.env["CI"] === "true")
  throw new Error(`MQTT is required under CI=true and is unreachable: ${problem}`);

export const mqttUp = problem === undefined;
/** `{ skip }` for node:test when the broker is unreachable (never under CI=true). */
export const needsMqtt: { skip?: string } = mqttUp ? {} : { skip: `MQTT unreachable (${problem})` };
/** Sessions the tests leave behind expire soon. */
export const sessionExpirySeconds = 120;

/** A mosquitto of the test's own, persistence on (sessions survive a restart), its database in a temporary directory. */
export async function restartableMosquitto(): Promise<RestartableEngine> {
  const engine = await EngineProcess.start({
    name: "mosquitto",
    command: "mosquitto",
    args: (port, dir) => {
      const config = join(dir, "mosquitto.conf");
      const lines = [`listener ${port} 127.0.0.1`, "allow_anonymous true", "persistence true"];
      // As root, mosquitto would drop to its own user, which cannot write the temporary directory.
      lines.push(`persistence_location ${dir}/`, "user root", "");
      writeFileSync(config, lines.join("\n"));
      return ["-c", config];
    },
  });
  return {
    connect: (mode) =>
      connectMqttTransport({
        url: `mqtt://127.0.0.1:${engine.port}`,
        sessionExpirySeconds,
        ...(mode ? { contentMode: mode } : {}),
      }),
    restart: () => engine.restart(),
    stop: () => engine.stop(),
  };
}
