// The transport the SIGKILL test's child process opens (see sigkillUnderLoad).
import { connectMqttTransport, type MqttTransport } from "@herald/transport-mqtt";
import { sessionExpirySeconds, url } from "./mqtt.js";

export const connect = (): Promise<MqttTransport> => connectMqttTransport({ url, sessionExpirySeconds });
