// A local webhook sink (node:http on port 0) that records requests and answers by a script.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly at: number;
}

export type Responder = (
  request: ReceivedRequest,
  res: ServerResponse,
  index: number,
) => void | Promise<void>;

export interface Sink {
  readonly url: string;
  readonly received: ReceivedRequest[];
  respond: Responder;
  close(): Promise<void>;
}

export const ok: Responder = (_req, res) => {
  res.writeHead(204);
  res.end();
};

export async function startSink(respond: Responder = ok): Promise<Sink> {
  const received: ReceivedRequest[] = [];
  const sink: Sink = {
    url: "",
    received,
    respond,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request: ReceivedRequest = {
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      body: Buffer.concat(chunks),
      at: Date.now(),
    };
    received.push(request);
    try {
      await sink.respond(request, res, received.length - 1);
    } catch {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  (sink as { url: string }).url = `http://127.0.0.1:${port}/hook`;
  return sink;
}
