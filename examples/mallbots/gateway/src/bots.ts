// The bot stream (ws /bots/stream): a bot says hello and gets, on that message's id, its tasks and
// recalls for as long as its socket is open; its progress goes to Depot. Depot decides everything
// (dispatch, requeue, refusals); the gateway only carries messages between the bot and Depot.
import { defineEventSource, type EventSourceDefinition, type SourceContext, ws } from "@herald/service";
import { BotDispatched, BotRecalled, SCOPES, type ShoppingStop } from "@mallbots/contracts";
import type { Feed } from "./feed.js";
import { BotReply, BotRequest, type BotReply as Reply, type FeedItem } from "./messages.js";
import type { Upstream } from "./upstream.js";

interface HeldTask {
  readonly taskId: string;
  readonly orderId: string;
  readonly stops: ShoppingStop[];
}
const path = encodeURIComponent;

export function botsApi(upstream: Upstream, feed: Feed<FeedItem>): EventSourceDefinition[] {
  // Each bot's newest connection: a bot that reconnects before its old socket is seen closing must
  // not be marked offline by the old one.
  const sessions = new Map<string, object>();

  async function* session(botId: string, ctx: SourceContext): AsyncGenerator<Reply> {
    const token = {};
    sessions.set(botId, token);
    let online = false;
    // Subscribed before Depot hears of the bot, so a dispatch right after `ready` is not missed.
    const items = feed.subscribe(
      ctx.signal,
      (item) =>
        item.kind === "event" &&
        (item.event.type === BotDispatched.type || item.event.type === BotRecalled.type) &&
        (item.event.data as { botId?: unknown } | undefined)?.botId === botId,
    );
    try {
      const ready = await upstream.call<{ botId: string; task?: HeldTask | null }>(
        "depot",
        "POST",
        `/bots/${path(botId)}/ready`,
        { signal: ctx.signal },
      );
      online = true;
      feed.publish({ kind: "bot", botId, online: true });
      // The task the bot still holds (a reconnect), so a dispatch lost with the old socket resumes.
      const held = ready.task?.taskId;
      if (ready.task) yield { type: "task", ...pick(ready.task) };
      for await (const item of items) {
        if (item.kind !== "event") continue;
        const data = item.event.data as HeldTask;
        if (item.event.type === BotRecalled.type) yield { type: "recall", taskId: data.taskId };
        // The dispatch of the held task was already answered by `ready`.
        else if (data.taskId !== held) yield { type: "task", ...pick(data) };
      }
    } finally {
      await items.return?.();
      if (sessions.get(botId) === token) {
        sessions.delete(botId);
        if (online) feed.publish({ kind: "bot", botId, online: false });
        // The socket is gone (ctx.signal aborted): Depot requeues what the bot was shopping.
        await upstream
          .call("depot", "DELETE", `/bots/${path(botId)}`)
          .catch((error: unknown) => console.error(`bot ${botId} offline: ${String(error)}`));
      }
    }
  }

  return [
    defineEventSource({
      trigger: ws("/bots/stream"),
      summary: "A shopper bot's stream: hello, then tasks and recalls; stop-shopped and completed reports",
      tags: ["bots"],
      input: { message: BotRequest },
      output: { message: BotReply },
      auth: { scopes: [SCOPES.bot] },
      handler: async (request, ctx) => {
        switch (request.type) {
          case "hello":
            return session(request.botId, ctx);
          case "stop-shopped":
            await upstream.call(
              "depot",
              "POST",
              `/tasks/${path(request.taskId)}/stops/${path(request.storeId)}`,
              { body: { botId: request.botId }, signal: ctx.signal },
            );
            return { ok: true as const };
          case "completed":
            await upstream.call("depot", "POST", `/tasks/${path(request.taskId)}/complete`, {
              body: { botId: request.botId },
              signal: ctx.signal,
            });
            return { ok: true as const };
        }
      },
    }),
  ];
}

/** The task members a bot gets (BotDispatched also names the bot). */
function pick(task: HeldTask): HeldTask {
  return { taskId: task.taskId, orderId: task.orderId, stops: task.stops };
}
