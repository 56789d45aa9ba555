// The bot stream's messages (ws /bots/stream on the gateway; the gateway README has the protocol):
// frames are `{ id, data }` from the bot, `{ id, data }` / `{ id, problem }` / `{ id, done: true }`
// back. The hello (id 1) is answered by a stream of tasks and recalls for as long as the socket lives.
import type { ShoppingStop } from "@mallbots/contracts";

/** The stream's id: the hello's. Requests use ids from 2 up. */
export const HELLO_ID = 1;

export type BotMessage =
  | { readonly type: "hello"; readonly botId: string }
  | {
      readonly type: "stop-shopped";
      readonly botId: string;
      readonly taskId: string;
      readonly storeId: string;
    }
  | { readonly type: "completed"; readonly botId: string; readonly taskId: string };

export interface Task {
  readonly taskId: string;
  readonly orderId: string;
  readonly stops: readonly ShoppingStop[];
}

/** What the hello's stream carries. */
export type StreamItem =
  | ({ readonly type: "task" } & Task)
  | { readonly type: "recall"; readonly taskId: string };

/** A frame from the gateway, as far as a bot reads it. */
export interface Frame {
  readonly id?: unknown;
  readonly data?: unknown;
  readonly problem?: { readonly status?: number; readonly code?: string; readonly detail?: string };
  readonly done?: boolean;
}

/** Reads a stream item; undefined for anything else (a newer gateway's message this bot does not know). */
export function streamItem(data: unknown): StreamItem | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const item = data as Record<string, unknown>;
  if (item["type"] === "recall" && typeof item["taskId"] === "string")
    return { type: "recall", taskId: item["taskId"] };
  if (
    item["type"] === "task" &&
    typeof item["taskId"] === "string" &&
    typeof item["orderId"] === "string" &&
    Array.isArray(item["stops"])
  )
    return {
      type: "task",
      taskId: item["taskId"],
      orderId: item["orderId"],
      stops: item["stops"] as ShoppingStop[],
    };
  return undefined;
}
