// The transport the SIGKILL test's child process opens (see sigkillUnderLoad).
import { type AmqpTransport, connectAmqpTransport } from "@herald/transport-amqp";
import { url } from "./amqp.js";

export const connect = (): Promise<AmqpTransport> => connectAmqpTransport({ url });
