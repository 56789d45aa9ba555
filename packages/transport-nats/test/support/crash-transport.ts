// The transport the SIGKILL test's child process opens (see sigkillUnderLoad).
import { connectNatsTransport, type NatsTransport } from "@herald/transport-nats";
import { servers } from "./nats.js";

export const connect = (): Promise<NatsTransport> => connectNatsTransport({ servers });
