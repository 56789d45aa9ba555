// Probes for the real services integration tests talk to. Locally a test may skip when its service is down;
// under CI (process.env.CI === "true") a missing service is a failure, never a skip.
import { createConnection } from "node:net";

/** Whether something accepts TCP connections on host:port (within timeoutMs). */
export function serviceAvailable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (up: boolean): void => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Whether host:port speaks AMQP 1.0 (RabbitMQ 3.x only with the rabbitmq_amqp1_0 plugin): it must answer the
 * AMQP 1.0 SASL protocol header with the same header (a 0-9-1-only broker answers `AMQP 0 0 9 1`).
 */
export function amqp10Available(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  const header = Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]); // "AMQP" SASL 1.0.0
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let answer = Buffer.alloc(0);
    const done = (up: boolean): void => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => socket.write(header));
    socket.on("data", (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      if (answer.length >= header.length) done(answer.subarray(0, header.length).equals(header));
    });
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}

/** What node:test's `skip` option takes: false to run, a reason string to skip. */
export type SkipOption = false | string;

/**
 * `false` when `name` answers on host:port (by default: accepts TCP; `probe` can ask for more); otherwise a skip reason, or, under CI=true, a thrown error
 * (call it in a `before` hook or at the top of the file so the run fails loudly).
 */
export async function skipUnlessService(
  name: string,
  host: string,
  port: number,
  probe: (host: string, port: number) => Promise<boolean> = serviceAvailable,
): Promise<SkipOption> {
  if (await probe(host, port)) return false;
  const reason = `${name} is not reachable on ${host}:${port}`;
  if (process.env["CI"] === "true") throw new Error(`${reason} (CI=true: integration tests must not skip)`);
  return `${reason}; skipped locally`;
}
