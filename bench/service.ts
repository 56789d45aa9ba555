// @herald/service benchmark: the same handler behind an HTTP event source (routing, input validation
// of the body, output validation, problem answers) and behind a bare node:http route (JSON.parse,
// handler, JSON.stringify, the same size limit and media-type check), both warmed up, then ROUNDS
// rounds alternating which side goes first, both servers in this process, loaded by the same raw
// keep-alive connections (bench/lib/http-load.ts, same concurrency). The overhead is the median of the
// per-round ratios; p50/p99 per side are the median round's. Also: the async outcome model (asyncHandler: type match,
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
const ROUNDS = 3;
const MAX_BODY = 1024 * 1024;

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
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on("end", () => {
      const type = String(req.headers["content-type"] ?? "")
        .split(";")[0]!
        .trim()
        .toLowerCase();
      if (size > MAX_BODY || (type !== "application/json" && !type.endsWith("+json"))) {
        res.writeHead(415).end();
        return;
      }
      const body = JSON.stringify(handle(JSON.parse(Buffer.concat(chunks).toString("utf8")) as OrderData));
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
  const sourceUrl = new URL(app.url);
  await load(bare.url);
  await load(sourceUrl);
  const rounds: { bare: Figures; source: Figures; overheadPct: number }[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    let bareFigures: Figures;
    let sourceFigures: Figures;
    if (i % 2 === 0) {
      bareFigures = await load(bare.url);
      sourceFigures = await load(sourceUrl);
    } else {
      sourceFigures = await load(sourceUrl);
      bareFigures = await load(bare.url);
    }
    rounds.push({
      bare: bareFigures,
      source: sourceFigures,
      overheadPct: round((bareFigures.eventsPerSec / sourceFigures.eventsPerSec - 1) * 100),
    });
  }
  await app.stop();
  await bare.close();
  const median = [...rounds].sort((a, b) => a.overheadPct - b.overheadPct)[Math.floor(ROUNDS / 2)]!;
  const bareBest = median.bare;
  const sourceBest = median.source;
  const overheadPct = median.overheadPct;
  console.log(
    `HTTP, ${CONNECTIONS} connections, ${SECONDS} s per phase, ${ROUNDS} rounds (order alternating), median round:\n` +
      `  bare node:http route  ${bareBest.eventsPerSec} req/s  p50 ${bareBest.p50ms} ms  p99 ${bareBest.p99ms} ms\n` +
      `  HTTP event source     ${sourceBest.eventsPerSec} req/s  p50 ${sourceBest.p50ms} ms  p99 ${sourceBest.p99ms} ms\n` +
      `  overhead (bare/source − 1): ${overheadPct} %  (rounds: ${rounds.map((r) => r.overheadPct).join(", ")} %)`,
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
      http: {
        connections: CONNECTIONS,
        seconds: SECONDS,
        rounds: rounds.map((r) => r.overheadPct),
        bare: bareBest,
        source: sourceBest,
        overheadPct,
      },
      async: { events: ASYNC_EVENTS, routerNs: round(plainBest), asyncHandlerNs: round(modelBest) },
    }),
  );
}

await main();
