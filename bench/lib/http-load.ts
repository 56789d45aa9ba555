// The load generator the server benchmarks share: raw keep-alive HTTP/1.1 connections (one request in
// flight each, no client library in the measured path) and the figures they report.
import { connect as netConnect, type Socket } from "node:net";

export interface Figures {
  eventsPerSec: number;
  p50ms: number;
  p99ms: number;
  events: number;
}

export const round = (n: number) => Math.round(n * 1000) / 1000;

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function figures(events: number, seconds: number, latencies: number[]): Figures {
  const sorted = latencies.sort((a, b) => a - b);
  return {
    eventsPerSec: Math.round(events / seconds),
    p50ms: round(percentile(sorted, 50)),
    p99ms: round(percentile(sorted, 99)),
    events,
  };
}

/** The server process's CPU seconds so far, from its own /metrics (robust to a busy machine). */
export async function serverCpuSeconds(url: URL): Promise<number> {
  const text = await (await fetch(new URL("/metrics", url))).text();
  return Number(/^herald_process_cpu_seconds_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

/** A minimal keep-alive HTTP/1.1 client connection: one request in flight, responses with content-length. */
export class RawConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: ((status: number) => void) | undefined;
  private failing: ((error: Error) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) => this.failing?.(error));
    socket.on("close", () => this.failing?.(new Error("connection closed")));
  }

  static open(url: URL): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = netConnect(Number(url.port), url.hostname, () => resolve(new RawConnection(socket)));
      socket.once("error", reject);
    });
  }

  request(head: string, body: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failing = reject;
      this.socket.write(`${head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const headerEnd = this.buffer.indexOf("\r\n\r\n");
    if (headerEnd === -1) return;
    const head = this.buffer.subarray(0, headerEnd).toString("latin1");
    const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buffer.length < headerEnd + 4 + length) return;
    this.buffer = this.buffer.subarray(headerEnd + 4 + length);
    const status = Number(head.slice(9, 12));
    const done = this.waiting;
    this.waiting = undefined;
    done?.(status);
  }

  close(): void {
    this.failing = undefined;
    this.socket.destroy();
  }
}

/**
 * `connections` connections each sending `body()` to POST `path` back to back for `seconds`; every answer
 * must be 200. Counts `eventsPerRequest` events per request; latencies are per request.
 */
export async function postLoad(options: {
  readonly url: URL;
  readonly path: string;
  readonly contentType: string;
  readonly connections: number;
  readonly seconds: number;
  readonly eventsPerRequest: number;
  readonly body: () => string;
}): Promise<Figures> {
  const { url } = options;
  const head = `POST ${options.path} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: ${options.contentType}\r\n`;
  const connections = await Promise.all(
    Array.from({ length: options.connections }, () => RawConnection.open(url)),
  );
  const latencies: number[] = [];
  let events = 0;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  await Promise.all(
    connections.map(async (connection) => {
      while (performance.now() < deadline) {
        const body = options.body();
        const t0 = performance.now();
        const status = await connection.request(head, body);
        if (status !== 200) throw new Error(`POST ${options.path} answered ${status}`);
        latencies.push(performance.now() - t0);
        events += options.eventsPerRequest;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const c of connections) c.close();
  return figures(events, seconds, latencies);
}
