// What Depot's HTTP API answers about tasks and bots (the gateway's staff snapshot reads these).
import { ShoppingStop, TASK_STATUS } from "@mallbots/contracts";
import { type Static, Type } from "@sinclair/typebox";

const Id = Type.String({ minLength: 1, maxLength: 100 });

export const TaskStatusSchema = Type.Union(TASK_STATUS.map((s) => Type.Literal(s)));

export const BOT_STATUS = ["idle", "busy", "offline"] as const;
export type BotStatus = (typeof BOT_STATUS)[number];

export const TaskView = Type.Object({
  taskId: Id,
  orderId: Id,
  status: TaskStatusSchema,
  stops: Type.Array(ShoppingStop),
  /** The bot shopping it (shopping), or the one that shopped it (later states). */
  botId: Type.Optional(Id),
  /** Stores whose items are in the basket (StopShopped). */
  shoppedStores: Type.Array(Id),
  /** Why it was cancelled. */
  reason: Type.Optional(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type TaskView = Static<typeof TaskView>;

export const BotView = Type.Object({
  botId: Id,
  status: Type.Union(BOT_STATUS.map((s) => Type.Literal(s))),
  taskId: Type.Optional(Id),
  updatedAt: Type.String(),
});
export type BotView = Static<typeof BotView>;

/** The task a bot gets (POST /bots/:botId/ready, and the stream's `task` message). */
export const BotTask = Type.Object({ taskId: Id, orderId: Id, stops: Type.Array(ShoppingStop) });
export type BotTask = Static<typeof BotTask>;
