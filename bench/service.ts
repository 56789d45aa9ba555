// @herald/service benchmark: the same handler behind an HTTP event source (routing, input validation
// of the body, output validation, problem answers) and behind a bare node:http route (JSON.parse,
// handler, JSON.stringify), A/B/A/B in one run, both servers in this process, loaded by raw keep-alive
// connections (bench/lib/http-load.ts). Also: the async outcome model (asyncHandler: type match,
// data validation, outcome counting) per event over a plain Router route, in process.
// Usage: node bench/dist/service.js [--quick]. Last line: one JSON object with every figure.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { CloudEvent } from "@herald/cloudevents";
import { type Handler, Router, UnitOfWork } from "@herald/sdk";
import { asyncHandler, createApp, defineEventSource, http as httpTrigger, Outcomes } from "@herald/service";
import { Type } from "@sinclair/typebox";
import { type Figures, postLoad, round } from "./lib/http-load.js";

const quick = process.argv.includes("--quick");
const SECONDS = quick ? 1 : 4;
const CONNECTIONS = 16;
const ASYNC_EVENTS = quick ? 20_000 : 200_000;

const Order = Type.Object(
  {
    sku: Type.String({ minLength: 1, maxLength: 64 }),
    qty: Type.Integer({ minimum: 1 }),
    note: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
const Answer = Type.Object({ id: Type.String(), qty: Type.Integer() });
type OrderData = { sku: string; qty: number; note?: string };
const handle = (order: OrderData) => ({ id: `order-${order.sku}`, qty: order.qty });

async function bareServer(): Promise<{ url: URL; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.stringify(handle(JSON.parse(Buffer.concat(chunks).toString()) as OrderData));
      res
        .writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
        .end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}`),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function main(): Promise<void> {
  const bare = await bareServer();
  const app = await createApp({
    definitions: [
      defineEventSource({
        trigger: httpTrigger.post("/orders"),
        input: { body: Order },
        output: { 200: Answer },
        auth: { required: false },
        handler: ({ body }) => ({ status: 200, body: handle(body) }),
      }),
    ],
  }).start();
  const body = () => JSON.stringify({ sku: "tea", qty: 2, note: "leave at the door" });
  const load = (url: URL) =>
    postLoad({
      url,
      path: "/orders",
      contentType: "application/json",
      connections: CONNECTIONS,
      seconds: SECONDS,
      eventsPerRequest: 1,
      body,
    });
  await load(bare.url);
  await load(new URL(app.url));
  const runs: { bare: Figures[]; source: Figures[] } = { bare: [], source: [] };
  for (let i = 0; i < 2; i++) {
    runs.bare.push(await load(bare.url));
    runs.source.push(await load(new URL(app.url)));
  }
  await app.stop();
  await bare.close();
  const best = (list: Figures[]) => list.reduce((a, b) => (b.eventsPerSec > a.eventsPerSec ? b : a));
  const bareBest = best(runs.bare);
  const sourceBest = best(runs.source);
  const overheadPct = round((bareBest.eventsPerSec / sourceBest.eventsPerSec - 1) * 100);
  console.log(
    `HTTP, ${CONNECTIONS} connections, ${SECONDS} s per phase, best of 2 (A/B/A/B):\n` +
      `  bare node:http route  ${bareBest.eventsPerSec} req/s  p50 ${bareBest.p50ms} ms  p99 ${bareBest.p99ms} ms\n` +
      `  HTTP event source     ${sourceBest.eventsPerSec} req/s  p50 ${sourceBest.p50ms} ms  p99 ${sourceBest.p99ms} ms\n` +
      `  overhead (bare/source − 1): ${overheadPct} %`,
  );

  // Async: asyncHandler over a plain Router route, the same handler, in process.
  const event = new CloudEvent({
    id: "1",
    source: "/bench",
    type: "order.placed",
    data: { sku: "tea", qty: 2 },
  });
  const plainHandler: Handler = (e) => {
    handle(e.data as OrderData);
  };
  const plain = new Router({ defaults: false }).on("order.placed", plainHandler);
  const modelled = asyncHandler(
    "herald.bench",
    [
      defineEventSource({
        trigger: "herald.bench",
        types: ["order.placed"],
        data: Order,
        handler: (e) => {
          handle(e.data as OrderData);
        },
      }),
    ],
    new Outcomes({ warn: () => {}, error: () => {} }),
  );
  const ctx = new UnitOfWork(event, { attempt: 1, signal: new AbortController().signal, transport: "direct" })
    .context;
  const time = async (fn: Handler) => {
    for (let i = 0; i < 2_000; i++) await fn(event, ctx);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ASYNC_EVENTS; i++) await fn(event, ctx);
    return Number(process.hrtime.bigint() - t0) / ASYNC_EVENTS;
  };
  const routerNs = [await time(plain.handle), await time(plain.handle)];
  const modelNs = [await time(modelled), await time(modelled)];
  const plainBest = Math.min(...routerNs);
  const modelBest = Math.min(...modelNs);
  console.log(
    `async, ${ASYNC_EVENTS} events, in process, best of 2:\n` +
      `  plain Router route   ${round(plainBest)} ns/event\n` +
      `  asyncHandler         ${round(modelBest)} ns/event  (+${round(modelBest - plainBest)} ns: type match, data validation, counting)`,
  );
  console.log(
    JSON.stringify({
      http: { connections: CONNECTIONS, seconds: SECONDS, bare: bareBest, source: sourceBest, overheadPct },
      async: { events: ASYNC_EVENTS, routerNs: round(plainBest), asyncHandlerNs: round(modelBest) },
    }),
  );
}

await main();
