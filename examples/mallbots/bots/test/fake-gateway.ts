// A small stand-in for the gateway's bot stream: a `ws` server that speaks the protocol, records
// every frame the bots send, and lets a test push tasks and recalls, refuse reports, drop sockets.
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

export const KEY = "test-bot-key";

export interface Received {
  readonly at: number;
  /** Which connection (1 = the first) of the bot. */
  readonly connection: number;
  readonly id: number;
  readonly data: {
    readonly type: string;
    readonly botId: string;
    readonly taskId?: string;
    readonly storeId?: string;
  };
}

export class FakeGateway {
  readonly received: Received[] = [];
  /** Reports about these tasks are answered with a problem (Depot refused them). */
  readonly refuse = new Set<string>();
  /** The next reports about these tasks are answered 503 (Depot restarting), this many times. */
  readonly unavailable = new Map<string, number>();
  readonly #server: WebSocketServer;
  readonly #sockets = new Map<string, WebSocket>();
  readonly #connections = new Map<string, number>();

  private constructor(server: WebSocketServer) {
    this.#server = server;
    server.on("connection", (socket, request) => {
      const token = new URL(request.url ?? "/", "http://x").searchParams.get("access_token");
      if (token !== KEY) {
        socket.close(4401, "unauthorized");
        return;
      }
      let botId: string | undefined;
      let connection = 0;
      socket.on("message", (raw) => {
        const frame = JSON.parse(String(raw)) as { id: number; data: Received["data"] };
        if (frame.data.type === "hello") {
          botId = frame.data.botId;
          connection = (this.#connections.get(botId) ?? 0) + 1;
          this.#connections.set(botId, connection);
          this.#sockets.set(botId, socket);
        }
        this.received.push({ at: Date.now(), connection, id: frame.id, data: frame.data });
        if (frame.data.type === "hello") return;
        const taskId = frame.data.taskId ?? "";
        const refused = this.refuse.has(taskId);
        const unavailable = this.unavailable.get(taskId) ?? 0;
        if (unavailable > 0) this.unavailable.set(taskId, unavailable - 1);
        socket.send(
          JSON.stringify(
            refused
              ? { id: frame.id, problem: { status: 422, code: "handler-refused", detail: "task cancelled" } }
              : unavailable > 0
                ? {
                    id: frame.id,
                    problem: { status: 503, code: "handler-unavailable", detail: "depot is down" },
                  }
                : { id: frame.id, data: { ok: true } },
          ),
        );
      });
    });
  }

  static async start(): Promise<FakeGateway> {
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/bots/stream" });
    await once(server, "listening");
    return new FakeGateway(server);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** A message on the bot's hello stream (id 1). */
  push(botId: string, data: unknown): void {
    const socket = this.#sockets.get(botId);
    if (socket === undefined) throw new Error(`${botId} is not connected`);
    socket.send(JSON.stringify({ id: 1, data }));
  }

  /** Ends the bot's hello stream: `{ id: 1, done: true }`, or `{ id: 1, problem }` when given one. */
  endStream(botId: string, problem?: unknown): void {
    const socket = this.#sockets.get(botId);
    if (socket === undefined) throw new Error(`${botId} is not connected`);
    socket.send(JSON.stringify(problem === undefined ? { id: 1, done: true } : { id: 1, problem }));
  }

  /** Drops the bot's socket without a close handshake (a network cut). */
  drop(botId: string): void {
    this.#sockets.get(botId)?.terminate();
    this.#sockets.delete(botId);
  }

  hellos(botId: string): number {
    return this.#connections.get(botId) ?? 0;
  }

  /** The bot's reports (stop-shopped, completed) about one task, in order. */
  reports(taskId: string): Received[] {
    return this.received.filter((r) => r.data.taskId === taskId);
  }

  async close(): Promise<void> {
    for (const client of this.#server.clients) client.terminate();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

export function task(taskId: string, storeIds: readonly string[]) {
  return {
    type: "task",
    taskId,
    orderId: `order-of-${taskId}`,
    stops: storeIds.map((storeId) => ({
      storeId,
      storeName: `Store ${storeId}`,
      location: "Level 1",
      items: [{ productId: `prod-${storeId}`, name: "Something", quantity: 1 }],
    })),
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
