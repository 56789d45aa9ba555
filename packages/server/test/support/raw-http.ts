// Raw HTTP/1.1 over a net socket: for requests node's and fetch's clients refuse to send (broken framing,
// oversized headers, a request that stops half-way), and to see exactly what the server wrote back.
import { connect } from "node:net";

export interface RawAnswer {
  readonly status: number;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Did the server close the connection after answering? */
  readonly closed: boolean;
}

/**
 * Sends `bytes` to the server at `url` (keeping the socket open, as a slow client would) and resolves
 * with the answer once the server closed the connection or `waitMs` passed.
 */
export function rawExchange(url: string, bytes: string | Buffer, waitMs = 5_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ""), port: Number(port) });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      if (split === -1) {
        reject(new Error(`no HTTP answer (got ${JSON.stringify(text.slice(0, 200))})`));
        return;
      }
      const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? "")?.[1] ?? 0);
      resolve({
        status,
        headers,
        body: Buffer.from(text.slice(split + 4), "latin1").toString("utf8"),
        closed,
      });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", () => finish(true));
    socket.on("close", () => finish(true));
    socket.on("error", (error) => {
      if (chunks.length > 0) finish(true);
      else if (!done) {
        done = true;
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.write(bytes);
  });
}
