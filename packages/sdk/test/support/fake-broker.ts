// A scripted HTTP server standing in for the broker in client unit tests: records requests and
// answers each with the next scripted reply. (Integration tests use a real `herald serve`.)
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Reply = { status: number; headers?: Record<string, string>; body?: unknown } | "hang" | "destroy";

export class FakeBroker {
  readonly requests: Recorded[] = [];
  connections = 0;
  #script: Reply[] = [];
  #fallback: (req: Recorded) => Reply | Promise<Reply> = () => ({
    status: 404,
    body: { title: "no script" },
  });
  readonly #server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const recorded = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      this.requests.push(recorded);
      void Promise.resolve(this.#script.shift() ?? this.#fallback(recorded)).then((reply) => {
        if (reply === "hang") return;
        if (reply === "destroy") return req.socket.destroy();
        const body = reply.body === undefined ? "" : JSON.stringify(reply.body);
        res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers }).end(body);
      });
    });
  });

  constructor() {
    this.#server.on("connection", () => this.connections++);
  }

  script(...replies: Reply[]): this {
    this.#script.push(...replies);
    return this;
  }

  otherwise(fn: (req: Recorded) => Reply | Promise<Reply>): this {
    this.#fallback = fn;
    return this;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** The broker's POST /events answer for the events in a recorded request body. */
export function ackBody(req: Recorded, firstPosition = 1): { results: unknown[] } {
  const parsed = JSON.parse(req.body) as unknown;
  const events = (Array.isArray(parsed) ? parsed : [parsed]) as Array<{ id: string; source: string }>;
  return {
    results: events.map((e, i) => ({
      id: e.id,
      source: e.source,
      position: firstPosition + i,
      stream: e.source,
      version: i,
      duplicate: false,
    })),
  };
}
