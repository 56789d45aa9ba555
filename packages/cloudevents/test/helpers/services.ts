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

/** What node:test's `skip` option takes: false to run, a reason string to skip. */
export type SkipOption = false | string;

/**
 * `false` when `name` answers on host:port; otherwise a skip reason, or, under CI=true, a thrown error
 * (call it in a `before` hook or at the top of the file so the run fails loudly).
 */
export async function skipUnlessService(name: string, host: string, port: number): Promise<SkipOption> {
  if (await serviceAvailable(host, port)) return false;
  const reason = `${name} is not reachable on ${host}:${port}`;
  if (process.env["CI"] === "true") throw new Error(`${reason} (CI=true: integration tests must not skip)`);
  return `${reason}; skipped locally`;
}
