// The staff page (static files from the package's public/ directory) and its live stream: a snapshot
// of orders and bots from Orders and Depot, then every MallBots event the gateway sees.
import { readFileSync } from "node:fs";
import { defineEventSource, type EventSourceDefinition, http, ws } from "@herald/service";
import { type OrderList, SCOPES, type ShoppingStop } from "@mallbots/contracts";
import type { Feed } from "./feed.js";
import {
  type FeedItem,
  type StaffBot,
  type StaffMessage,
  StaffMessage as StaffMessageSchema,
  type StaffOrder,
  StaffRequest,
} from "./messages.js";
import { listOf, type Upstream } from "./upstream.js";

/** The page's files, read once at start; `npm run build` needs no copy step (they are not compiled). */
const PUBLIC = new URL("../../public/", import.meta.url);
const FILES = {
  "/staff": { file: "staff.html", type: "text/html; charset=utf-8" },
  "/staff/staff.js": { file: "staff.js", type: "text/javascript; charset=utf-8" },
  "/staff/staff.css": { file: "staff.css", type: "text/css; charset=utf-8" },
  "/staff/favicon.svg": { file: "favicon.svg", type: "image/svg+xml" },
} as const;

/** No inline script or style anywhere: the page's own files only (the live socket is same-origin). */
const CSP = "default-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Depot's views as the gateway reads them (only the members it shows). */
interface DepotBot {
  readonly botId: string;
  readonly status: string;
  readonly taskId?: string | null;
}
interface DepotTask {
  readonly taskId: string;
  readonly orderId: string;
  readonly status: string;
  readonly botId?: string | null;
  readonly stops?: ShoppingStop[];
  readonly shoppedStores?: string[];
}

/** How many orders the snapshot shows (the newest). */
const SNAPSHOT_ORDERS = 100;

async function snapshot(upstream: Upstream, signal: AbortSignal): Promise<StaffMessage> {
  // Depot down (restarting, or stopped to show that orders keep coming): orders without bots.
  const depot = (path: string) =>
    upstream.call<unknown>("depot", "GET", path, { signal }).catch((error: unknown) => {
      console.error(`staff snapshot: ${String(error)}`);
      return [];
    });
  const [orderList, botList, taskList] = await Promise.all([
    upstream.call<OrderList>("orders", "GET", `/orders?limit=${SNAPSHOT_ORDERS}`, { signal }),
    depot("/bots"),
    depot("/tasks"),
  ]);
  const tasks = listOf<DepotTask>(taskList, "tasks");
  const byTask = new Map(tasks.map((task) => [task.taskId, task]));
  // The bot of an order: the one holding (or last holding) its task.
  const botOfOrder = new Map(tasks.map((task) => [task.orderId, task.botId ?? null]));
  const orders: StaffOrder[] = listOf<StaffOrder>(orderList, "orders").map((order) => ({
    ...order,
    botId: botOfOrder.get(order.orderId) ?? null,
  }));
  const bots: StaffBot[] = listOf<DepotBot>(botList, "bots").map((bot) => {
    const task = bot.taskId ? byTask.get(bot.taskId) : undefined;
    return {
      botId: bot.botId,
      status: bot.status,
      taskId: bot.taskId ?? null,
      orderId: task?.orderId ?? null,
      stops: task?.stops ?? [],
      shoppedStores: task?.shoppedStores ?? [],
    };
  });
  return { type: "snapshot", orders, bots };
}

export function staffApi(upstream: Upstream, feed: Feed<FeedItem>): EventSourceDefinition[] {
  const files = Object.entries(FILES).map(([route, { file, type }]) => {
    const body = readFileSync(new URL(file, PUBLIC));
    return defineEventSource({
      trigger: http.get(route),
      summary: route === "/staff" ? "The staff page (asks for the staff key, or reads ?key=)" : undefined,
      tags: ["staff"],
      // The files are public; what they show needs the staff key (the live stream checks it).
      auth: { required: false },
      handler: () => ({
        status: 200,
        body,
        headers: {
          "content-type": type,
          "content-security-policy": CSP,
          "cache-control": "no-cache",
          "x-content-type-options": "nosniff",
        },
      }),
    });
  });
  const live = defineEventSource({
    trigger: ws("/staff/live"),
    summary: "Live orders and bots: a snapshot, then each MallBots event",
    tags: ["staff"],
    input: { message: StaffRequest },
    output: { message: StaffMessageSchema },
    auth: { scopes: [SCOPES.staff] },
    handler: async function* (_request, ctx): AsyncGenerator<StaffMessage> {
      // Subscribed before the snapshot is read, so nothing that happens meanwhile is lost.
      const items = feed.subscribe(ctx.signal);
      try {
        yield await snapshot(upstream, ctx.signal);
        for await (const item of items) {
          yield item.kind === "event"
            ? { type: "event", event: item.event }
            : { type: "bot", botId: item.botId, online: item.online };
        }
      } finally {
        await items.return?.();
      }
    },
  });
  return [...files, live];
}
