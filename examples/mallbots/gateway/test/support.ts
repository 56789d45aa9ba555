// Test helpers: fake services (node:http servers answering canned JSON and recording every call),
// WebSocket clients that collect frames, and waits on conditions.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { problemBody } from "@herald/service";
import WebSocket from "ws";

type ProblemCode = Parameters<typeof problemBody>[0];

export interface Call {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: unknown;
}

export interface Answer {
  readonly status: number;
  readonly body?: unknown;
  readonly type?: string;
}

/** A stand-in for one MallBots service: `route(method, path, body)` decides each answer. */
export class FakeService {
  readonly calls: Call[] = [];
  route: (call: Call) => Answer = () => ({ status: 404, body: problem("route-not-found", "nothing") });
  readonly #server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    req.on("end", () => {
      const call: Call = {
        method: req.method ?? "GET",
        path: req.url ?? "/",
        headers: req.headers,
        body: text === "" ? undefined : JSON.parse(text),
      };
      this.calls.push(call);
      const answer = this.route(call);
      const json = answer.body === undefined ? "" : JSON.stringify(answer.body);
      res.writeHead(answer.status, { "content-type": answer.type ?? "application/json" }).end(json);
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** The calls to `method path` (path without the query when `exact` is false). */
  callsTo(method: string, path: string): Call[] {
    return this.calls.filter((c) => c.method === method && c.path.split("?")[0] === path);
  }
}

/** A problem body as @herald/service writes it (the services are @herald/service apps). */
export function problem(code: ProblemCode, detail: string): Record<string, unknown> {
  return { ...problemBody(code, detail) };
}

export type Frame = { id?: unknown; data?: Record<string, unknown>; done?: true; problem?: { code: string } };

/** An open WebSocket and every frame it got. */
export interface Socket {
  readonly socket: WebSocket;
  readonly frames: Frame[];
  send(id: unknown, data: unknown): void;
  close(): Promise<void>;
}

export function openSocket(url: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const frames: Frame[] = [];
    socket.on("message", (raw) => frames.push(JSON.parse(raw.toString()) as Frame));
    socket.once("open", () =>
      resolve({
        socket,
        frames,
        send: (id, data) => socket.send(JSON.stringify({ id, data })),
        close: () =>
          new Promise((done) => {
            if (socket.readyState === WebSocket.CLOSED) return done();
            socket.once("close", () => done());
            socket.close();
          }),
      }),
    );
    socket.once("unexpected-response", (_req, res) =>
      reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })),
    );
    socket.once("error", reject);
  });
}

/** Resolves once `condition` holds (checked every 20 ms); fails after `timeoutMs` naming `what`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
