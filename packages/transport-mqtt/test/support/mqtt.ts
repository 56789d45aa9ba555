// The MQTT broker the tests use: Mosquitto at mqtt://127.0.0.1:1883 (HERALD_TEST_MQTT_URL overrides it).
// Without a reachable broker the tests skip locally, but fail under CI=true.
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
