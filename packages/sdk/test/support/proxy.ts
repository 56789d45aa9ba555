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
