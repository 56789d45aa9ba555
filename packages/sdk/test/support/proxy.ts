// A TCP-level stand-in between a client and a real broker: forwards HTTP requests and WebSocket
// upgrades, can refuse upgrades as an older broker does (404 route-not-found), and can cut every
// tunnelled WebSocket at once (a dropped connection, without the broker knowing first).
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";

export interface BrokerProxy {
  readonly url: string;
  /** Answer upgrades 404 (no WebSocket endpoints), as a broker of an older release. */
  refuseUpgrades: boolean;
  /** Upgrades forwarded so far. */
  readonly upgrades: number;
  /** Text messages clients sent on tunnelled WebSockets, in order (unmasked). */
  readonly clientMessages: string[];
  /** Destroys every tunnelled WebSocket, both ways. */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<BrokerProxy> {
  const to = new URL(target);
  const tunnels = new Set<Duplex>();
  const agent = new http.Agent({ keepAlive: true });
  let upgrades = 0;
  const server = http.createServer((req, res) => {
    const forward = http.request(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  const proxy: BrokerProxy = {
    url: "",
    refuseUpgrades: false,
    get upgrades() {
      return upgrades;
    },
    clientMessages: [],
    dropAll() {
      for (const socket of tunnels) socket.destroy();
      tunnels.clear();
    },
    async close() {
      proxy.dropAll();
      agent.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (proxy.refuseUpgrades) {
      const body = JSON.stringify({
        type: "https://herald.dev/problems/route-not-found",
        title: "Not Found",
        status: 404,
        code: "route-not-found",
        detail: `no WebSocket endpoint at ${req.url}`,
      });
      socket.end(
        `HTTP/1.1 404 Not Found\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
      return;
    }
    upgrades++;
    const upstream = net.connect(Number(to.port), to.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    tunnels.add(socket);
    tunnels.add(upstream);
    const reader = frameReader((text) => proxy.clientMessages.push(text));
    if (head.length > 0) reader(head);
    socket.on("data", reader);
    const cut = () => {
      socket.destroy();
      upstream.destroy();
      tunnels.delete(socket);
      tunnels.delete(upstream);
    };
    socket.on("error", cut);
    upstream.on("error", cut);
    socket.on("close", cut);
    upstream.on("close", cut);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  (proxy as { url: string }).url = `http://127.0.0.1:${port}`;
  return proxy;
}

/** Reads client → server WebSocket frames (RFC 6455: masked), calling `onText` per text frame. */
function frameReader(onText: (text: string) => void): (chunk: Buffer) => void {
  let buffer = Buffer.alloc(0);
  return (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (buffer.length < 2) return;
      const opcode = buffer[0]! & 0x0f;
      const masked = (buffer[1]! & 0x80) !== 0;
      let length = buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      const key = masked ? offset : -1;
      if (masked) offset += 4;
      if (buffer.length < offset + length) return;
      const payload = Buffer.from(buffer.subarray(offset, offset + length));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= buffer[key + (i % 4)]!;
      buffer = buffer.subarray(offset + length);
      if (opcode === 1) onText(payload.toString("utf8"));
    }
  };
}
