// The gateway against a real herald serve (in memory) and fake Orders, Stores and Depot (node:http
// servers in this test): the kiosk routes forward and pass problems through, the keys' scopes hold,
// the OpenAPI document is valid, the staff stream gets a snapshot then live events, the bot stream
// gets its tasks and recalls and reports progress to Depot, and the page is served.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HeraldClient } from "@herald/sdk";
import { type HeraldServer, startServer } from "@herald/server";
import {
  BotDispatched,
  BotRecalled,
  DEMO_PRODUCTS,
  DEMO_STORES,
  OrderPaid,
  type RunningService,
  readConfig,
  SOURCES,
  StopShopped,
} from "@mallbots/contracts";
import { validate } from "@readme/openapi-parser";
import { startGateway } from "../src/index.js";
import { type Call, FakeService, openSocket, problem, type Socket, waitFor } from "./support.js";

const config = readConfig({ MALLBOTS_PORT: "0" });
const keys = { kiosk: config.kioskKey, staff: config.staffKey, bot: config.botKey };
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const STOPS = [
  {
    storeId: "store-tools",
    storeName: "Bolt Hardware",
    location: "Level 0",
    items: [{ productId: "prod-hammer", name: "Claw hammer", quantity: 1 }],
  },
];
const ORDER = {
  orderId: "order-1",
  customerId: "ada",
  items: [
    { productId: "prod-hammer", storeId: "store-tools", name: "Claw hammer", price: 1895, quantity: 1 },
  ],
  total: 1895,
  status: "placed",
  paymentId: null,
  reason: null,
  placedAt: "2026-01-01T10:00:00.000Z",
  updatedAt: "2026-01-01T10:00:00.000Z",
};

let herald: HeraldServer;
let client: HeraldClient;
let gateway: RunningService;
const orders = new FakeService();
const stores = new FakeService();
const depot = new FakeService();
const sockets: Socket[] = [];

before(async () => {
  herald = await startServer({ memory: true, port: 0, logLevel: "silent" });
  client = new HeraldClient({ url: herald.url });
  orders.route = ({ method, path, body }) => {
    if (method === "POST" && path === "/orders") {
      const request = body as { customerId: string; items: { productId: string }[]; orderId?: string };
      if (request.items.some((item) => item.productId === "prod-nope"))
        return { status: 422, body: problem("handler-refused", "unknown product prod-nope") };
      // A client-chosen id seen before: the order placed then.
      if (request.orderId === "order-1")
        return { status: 200, body: { orderId: "order-1", total: 1895, status: "paid" } };
      return { status: 201, body: { orderId: "order-2", total: 1895, status: "placed" } };
    }
    if (method === "GET" && path === "/orders/order-1") return { status: 200, body: ORDER };
    if (method === "GET" && path === "/orders/order-late")
      return { status: 200, body: { ...ORDER, orderId: "order-late", status: "ready" } };
    if (method === "GET" && path.startsWith("/orders?")) return { status: 200, body: { orders: [ORDER] } };
    if (method === "GET" && path === "/orders/crash")
      return { status: 500, body: "<html>oops</html>", type: "text/html" };
    return { status: 404, body: problem("route-not-found", `no order at ${path}`) };
  };
  stores.route = ({ path }) => {
    if (path === "/stores") return { status: 200, body: DEMO_STORES };
    if (path === "/stores/store-tools/products")
      return { status: 200, body: DEMO_PRODUCTS.filter((p) => p.storeId === "store-tools") };
    return { status: 404, body: problem("route-not-found", "no such store") };
  };
  depot.route = ({ method, path, body }) => {
    if (method === "GET" && path === "/bots")
      return {
        status: 200,
        body: [
          { botId: "bot-1", status: "busy", taskId: "task-1", updatedAt: ORDER.updatedAt },
          { botId: "bot-2", status: "idle", updatedAt: ORDER.updatedAt },
        ],
      };
    if (method === "GET" && path === "/tasks")
      return {
        status: 200,
        body: [
          {
            taskId: "task-1",
            orderId: "order-1",
            status: "shopping",
            stops: STOPS,
            botId: "bot-1",
            shoppedStores: [],
            createdAt: ORDER.placedAt,
            updatedAt: ORDER.updatedAt,
          },
        ],
      };
    if (method === "POST" && path === "/pickups") {
      const { orderId } = body as { orderId: string };
      // order-late: Orders says ready, Depot holds it from its third pickup call on.
      if (orderId === "order-late" && depot.callsTo("POST", "/pickups").filter(late).length >= 3)
        return { status: 200, body: { orderId, taskId: "task-late" } };
      return orderId === "order-1"
        ? { status: 200, body: { orderId, taskId: "task-1" } }
        : { status: 422, body: problem("handler-refused", `order ${orderId} is not ready`) };
    }
    // bot-held reconnects holding task-9; the others hold nothing.
    const ready = /^\/bots\/([^/]+)\/ready$/.exec(path);
    if (method === "POST" && ready)
      return {
        status: 200,
        body:
          ready[1] === "bot-held"
            ? { botId: ready[1], task: { taskId: "task-9", orderId: "order-9", stops: STOPS } }
            : { botId: ready[1] },
      };
    if (method === "DELETE" && path.startsWith("/bots/")) return { status: 204 };
    if (method === "POST" && /^\/tasks\/task-\w+\/stops\/[\w-]+$/.test(path))
      return { status: 200, body: { ok: true } };
    if (method === "POST" && path === "/tasks/task-cancelled/complete")
      return { status: 422, body: problem("handler-refused", "task task-cancelled was cancelled") };
    if (method === "POST" && /^\/tasks\/[\w-]+\/complete$/.test(path)) return { status: 200, body: {} };
    return { status: 404, body: problem("route-not-found", `no ${method} ${path}`) };
  };
  const [ordersUrl, storesUrl, depotUrl] = await Promise.all([orders.start(), stores.start(), depot.start()]);
  gateway = await startGateway({
    ...config,
    heraldUrl: herald.url,
    urls: { orders: ordersUrl, stores: storesUrl, depot: depotUrl, payments: "http://127.0.0.1:1" },
  });
});

after(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await gateway?.stop();
  await client?.close();
  await Promise.all([orders.close(), stores.close(), depot.close()]);
  await herald?.close();
});

function call(method: string, path: string, key: string | undefined, body?: unknown, headers = {}) {
  return fetch(`${gateway.url}${path}`, {
    method,
    headers: {
      ...(key ? { "x-api-key": key } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

async function open(path: string, key: string): Promise<Socket> {
  const socket = await openSocket(`${gateway.url.replace("http", "ws")}${path}?access_token=${key}`);
  sockets.push(socket);
  return socket;
}

const last = (list: Call[]) => list.at(-1)!;
const late = (c: Call) => (c.body as { orderId?: string }).orderId === "order-late";

describe("kiosk REST", () => {
  it("forwards to the services with the internal key and the caller's traceparent", async () => {
    const res = await call("GET", "/stores", keys.kiosk, undefined, { traceparent: TRACEPARENT });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), DEMO_STORES);
    const forwarded = last(stores.callsTo("GET", "/stores"));
    assert.equal(forwarded.headers["x-api-key"], config.internalKey);
    assert.equal(forwarded.headers["traceparent"], TRACEPARENT);

    const products = await call("GET", "/stores/store-tools/products", keys.kiosk);
    assert.deepEqual(
      ((await products.json()) as { productId: string }[]).map((p) => p.productId),
      ["prod-hammer", "prod-drill"],
    );

    const placed = await call("POST", "/orders", keys.kiosk, {
      customerId: "ada",
      items: [{ productId: "prod-hammer", quantity: 1 }],
    });
    assert.equal(placed.status, 201);
    assert.deepEqual(await placed.json(), { orderId: "order-2", total: 1895, status: "placed" });
    assert.deepEqual(last(orders.callsTo("POST", "/orders")).body, {
      customerId: "ada",
      items: [{ productId: "prod-hammer", quantity: 1 }],
    });
    // A retried client-chosen id: Orders' 200 stays a 200.
    const again = await call("POST", "/orders", keys.kiosk, {
      customerId: "ada",
      items: [{ productId: "prod-hammer", quantity: 1 }],
      orderId: "order-1",
    });
    assert.equal(again.status, 200);

    const order = await call("GET", "/orders/order-1", keys.kiosk);
    assert.deepEqual(await order.json(), ORDER);

    const pickup = await call("POST", "/orders/order-1/pickup", keys.kiosk);
    assert.deepEqual(await pickup.json(), { orderId: "order-1", taskId: "task-1" });
    assert.deepEqual(last(depot.callsTo("POST", "/pickups")).body, { orderId: "order-1" });
  });

  it("retries a pickup Depot refuses while Orders already says the order is ready", async () => {
    const res = await call("POST", "/orders/order-late/pickup", keys.kiosk);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { orderId: "order-late", taskId: "task-late" });
    assert.equal(depot.callsTo("POST", "/pickups").filter(late).length, 3);
  });

  it("answers the services' problems with the same status and body", async () => {
    const unknown = await call("POST", "/orders", keys.kiosk, {
      customerId: "ada",
      items: [{ productId: "prod-nope", quantity: 1 }],
    });
    assert.equal(unknown.status, 422);
    assert.equal(unknown.headers.get("content-type"), "application/problem+json");
    assert.deepEqual(await unknown.json(), problem("handler-refused", "unknown product prod-nope"));

    const missing = await call("GET", "/orders/order-404", keys.kiosk);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), problem("route-not-found", "no order at /orders/order-404"));

    // Not ready at Orders either: Depot's refusal at once (one call).
    const early = await call("POST", "/orders/order-3/pickup", keys.kiosk);
    assert.equal(early.status, 422);
    assert.equal(((await early.json()) as { detail: string }).detail, "order order-3 is not ready");
    assert.equal(
      depot.callsTo("POST", "/pickups").filter((c) => (c.body as { orderId: string }).orderId === "order-3")
        .length,
      1,
    );

    // Not a catalog problem (a crash page): 503, the service is not answering properly.
    const crash = await call("GET", "/orders/crash", keys.kiosk);
    assert.equal(crash.status, 503);
    assert.equal(((await crash.json()) as { code: string }).code, "handler-unavailable");

    // The gateway's own validation comes first: nothing reaches Orders.
    const before = orders.calls.length;
    const invalid = await call("POST", "/orders", keys.kiosk, { customerId: "ada", items: [] });
    assert.equal(invalid.status, 400);
    assert.equal(((await invalid.json()) as { code: string }).code, "input-invalid");
    assert.equal(orders.calls.length, before);
  });

  it("answers 503 when a service is down", async () => {
    const down = await startGateway({
      ...config,
      heraldUrl: herald.url,
      urls: { ...config.urls, stores: "http://127.0.0.1:1" },
    });
    try {
      const res = await fetch(`${down.url}/stores`, { headers: { "x-api-key": keys.kiosk } });
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { code: string }).code, "handler-unavailable");
    } finally {
      await down.stop();
    }
  });
});

describe("keys and scopes", () => {
  it("refuses a missing or unknown key (401) and a key without the scope (403)", async () => {
    const none = await call("GET", "/stores", undefined);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { code: string }).code, "unauthorized");
    const wrong = await call("GET", "/stores", "not-a-key");
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { code: string }).code, "api-key-invalid");
    const bot = await call("GET", "/orders/order-1", keys.bot);
    assert.equal(bot.status, 403);
    assert.deepEqual(
      [
        ((await bot.clone().json()) as { code: string }).code,
        ((await bot.json()) as { requiredScope: string }).requiredScope,
      ],
      ["forbidden", "kiosk"],
    );
    // Staff may use the kiosk routes.
    assert.equal((await call("GET", "/orders/order-1", keys.staff)).status, 200);
    // The streams: staff only, bots only.
    await assert.rejects(open("/staff/live", keys.kiosk), (e: { status: number }) => e.status === 403);
    await assert.rejects(open("/staff/live", "not-a-key"), (e: { status: number }) => e.status === 401);
    await assert.rejects(open("/bots/stream", keys.staff), (e: { status: number }) => e.status === 403);
  });
});

describe("documents and the page", () => {
  it("generates a valid OpenAPI document from the route definitions", async () => {
    const doc = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { security: unknown; responses: Record<string, unknown> }>>;
    };
    const result = await validate(structuredClone(doc) as never);
    assert.equal(result.valid, true, JSON.stringify(result.valid ? [] : result.errors));
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      "/orders",
      "/orders/{orderId}",
      "/orders/{orderId}/pickup",
      "/staff",
      "/staff/favicon.svg",
      "/staff/staff.css",
      "/staff/staff.js",
      "/stores",
      "/stores/{storeId}/products",
    ]);
    assert.deepEqual(Object.keys(doc.paths["/orders"]!["post"]!.responses).sort(), [
      "200",
      "201",
      "400",
      "401",
      "403",
      "422",
      "500",
      "503",
    ]);
    assert.deepEqual(doc.paths["/staff"]!["get"]!.security, []);
  });

  it("serves the staff page and its files without a key, under a CSP with no inline code", async () => {
    const page = await fetch(`${gateway.url}/staff`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    const html = await page.text();
    assert.match(html, /<script type="module" src="\/staff\/staff.js"><\/script>/);
    assert.doesNotMatch(html, /<script>|<style|onclick=/);
    const script = await fetch(`${gateway.url}/staff/staff.js`);
    assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.match(await script.text(), /\/staff\/live/);
    assert.equal(
      (await fetch(`${gateway.url}/staff/staff.css`)).headers.get("content-type"),
      "text/css; charset=utf-8",
    );
  });
});

describe("the staff stream", () => {
  it("sends a snapshot of orders and bots, then every MallBots event the gateway sees", async () => {
    const staff = await open("/staff/live", keys.staff);
    staff.send(1, { type: "subscribe" });
    await waitFor(() => staff.frames.length > 0, "the snapshot");
    assert.deepEqual(staff.frames[0], {
      id: 1,
      data: {
        type: "snapshot",
        orders: [{ ...ORDER, botId: "bot-1" }],
        bots: [
          {
            botId: "bot-1",
            status: "busy",
            taskId: "task-1",
            orderId: "order-1",
            stops: STOPS,
            shoppedStores: [],
          },
          { botId: "bot-2", status: "idle", taskId: null, orderId: null, stops: [], shoppedStores: [] },
        ],
      },
    });
    // Not from Orders: refused (only a type's owner publishes it), never shown.
    await client.send(
      OrderPaid.create({
        source: SOURCES.payments,
        subject: "order-1",
        data: { orderId: "order-1", paymentId: "forged" },
      }),
    );
    await client.send(
      OrderPaid.create({
        source: SOURCES.orders,
        subject: "order-1",
        data: { orderId: "order-1", paymentId: "pay-1" },
      }),
    );
    await client.send(
      StopShopped.create({
        source: SOURCES.depot,
        subject: "order-1",
        data: { botId: "bot-1", taskId: "task-1", orderId: "order-1", storeId: "store-tools" },
      }),
    );
    await waitFor(() => staff.frames.length >= 3, "two live events");
    const events = staff.frames
      .slice(1)
      .map((f) => f.data as { type: string; event: Record<string, unknown> });
    assert.deepEqual(
      events.map((e) => [e.type, e.event["type"], e.event["subject"], e.event["data"]]),
      [
        ["event", OrderPaid.type, "order-1", { orderId: "order-1", paymentId: "pay-1" }],
        [
          "event",
          StopShopped.type,
          "order-1",
          { botId: "bot-1", taskId: "task-1", orderId: "order-1", storeId: "store-tools" },
        ],
      ],
    );
    assert.equal(typeof events[0]!.event["time"], "string");
  });
});

describe("the bot stream", () => {
  const dispatch = (botId: string, taskId: string) =>
    client.send(
      BotDispatched.create({
        source: SOURCES.depot,
        subject: `order-of-${taskId}`,
        data: { botId, taskId, orderId: `order-of-${taskId}`, stops: STOPS },
      }),
    );

  it("hello: Depot hears of the bot, then its tasks and recalls stream on the hello's id", async () => {
    const staff = await open("/staff/live", keys.staff);
    staff.send("s", { type: "subscribe" });
    await waitFor(() => staff.frames.length > 0, "the staff snapshot");
    const bot = await open("/bots/stream", keys.bot);
    bot.send(1, { type: "hello", botId: "bot-7" });
    await waitFor(() => depot.callsTo("POST", "/bots/bot-7/ready").length === 1, "Depot's ready call");
    // The staff page hears the bot come online (Depot has no event for it).
    await waitFor(() => staff.frames.some((f) => f.data?.["type"] === "bot"), "the bot's connection");
    assert.deepEqual(staff.frames.find((f) => f.data?.["type"] === "bot")?.data, {
      type: "bot",
      botId: "bot-7",
      online: true,
    });
    await dispatch("bot-8", "task-other"); // another bot's: not sent here
    await dispatch("bot-7", "task-7");
    await client.send(
      BotRecalled.create({
        source: SOURCES.depot,
        subject: "order-of-task-7",
        data: { botId: "bot-7", taskId: "task-7", orderId: "order-of-task-7" },
      }),
    );
    await waitFor(() => bot.frames.length >= 2, "the task and the recall");
    assert.deepEqual(
      [...bot.frames],
      [
        { id: 1, data: { type: "task", taskId: "task-7", orderId: "order-of-task-7", stops: STOPS } },
        { id: 1, data: { type: "recall", taskId: "task-7" } },
      ],
    );

    // Progress goes to Depot; a refusal comes back as the problem (the bot drops the task).
    bot.send(2, { type: "stop-shopped", botId: "bot-7", taskId: "task-7", storeId: "store-tools" });
    bot.send(3, { type: "completed", botId: "bot-7", taskId: "task-7" });
    bot.send(4, { type: "completed", botId: "bot-7", taskId: "task-cancelled" });
    await waitFor(() => bot.frames.length >= 5, "three replies");
    assert.deepEqual(
      bot.frames.find((f) => f.id === 2),
      { id: 2, data: { ok: true } },
    );
    assert.deepEqual(
      bot.frames.find((f) => f.id === 3),
      { id: 3, data: { ok: true } },
    );
    assert.equal(bot.frames.find((f) => f.id === 4)?.problem?.code, "handler-refused");
    assert.deepEqual(last(depot.callsTo("POST", "/tasks/task-7/stops/store-tools")).body, { botId: "bot-7" });
    assert.deepEqual(last(depot.callsTo("POST", "/tasks/task-7/complete")).body, { botId: "bot-7" });
    // The stream is still open: nothing ended it.
    assert.ok(!bot.frames.some((f) => f.id === 1 && (f.done || f.problem)));

    // The socket closes: Depot hears the bot is offline, the staff page too.
    assert.equal(depot.callsTo("DELETE", "/bots/bot-7").length, 0);
    await bot.close();
    await waitFor(() => depot.callsTo("DELETE", "/bots/bot-7").length === 1, "Depot's offline call");
    await waitFor(
      () => staff.frames.some((f) => f.data?.["type"] === "bot" && f.data["online"] === false),
      "the bot going offline on the staff stream",
    );
  });

  it("gives a reconnecting bot its held task first, and not twice when its dispatch comes by", async () => {
    const bot = await open("/bots/stream", keys.bot);
    bot.send("h", { type: "hello", botId: "bot-held" });
    await waitFor(() => bot.frames.length === 1, "the held task");
    assert.deepEqual(bot.frames[0], {
      id: "h",
      data: { type: "task", taskId: "task-9", orderId: "order-9", stops: STOPS },
    });
    await dispatch("bot-held", "task-9"); // the held task's dispatch, seen late: skipped
    await dispatch("bot-held", "task-10");
    await waitFor(() => bot.frames.length === 2, "the next task");
    assert.equal(bot.frames[1]!.data!["taskId"], "task-10");
  });

  it("does not mark a bot offline when an old socket closes after it reconnected", async () => {
    const old = await open("/bots/stream", keys.bot);
    old.send(1, { type: "hello", botId: "bot-twice" });
    await waitFor(() => depot.callsTo("POST", "/bots/bot-twice/ready").length === 1, "the first ready");
    const fresh = await open("/bots/stream", keys.bot);
    fresh.send(1, { type: "hello", botId: "bot-twice" });
    await waitFor(() => depot.callsTo("POST", "/bots/bot-twice/ready").length === 2, "the second ready");
    await old.close();
    await dispatch("bot-twice", "task-11");
    await waitFor(() => fresh.frames.length === 1, "a task on the new socket");
    assert.equal(depot.callsTo("DELETE", "/bots/bot-twice").length, 0);
    await fresh.close();
    await waitFor(() => depot.callsTo("DELETE", "/bots/bot-twice").length === 1, "the offline call");
  });
});
