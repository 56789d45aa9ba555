// The gateway's own wire shapes: the staff page's live stream and the bot stream (the protocol of
// /work/wt/notes/task-depot-bots.md, documented in the README). Services' bodies come from contracts.
import { OrderView, ShoppingStop } from "@mallbots/contracts";
import { type Static, type TSchema, Type } from "@sinclair/typebox";

const Id = Type.String({ minLength: 1, maxLength: 100 });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

// ---------- staff: ws /staff/live ----------

export const StaffRequest = Type.Object({ type: Type.Literal("subscribe") });

/** An order row: the Orders view and the bot shopping it (from Depot's tasks). */
export const StaffOrder = Type.Object({ ...OrderView.properties, botId: Nullable(Id) });
export type StaffOrder = Static<typeof StaffOrder>;

/** A bot row: Depot's bot and, while it shops, its task's stops and the stores already done. */
export const StaffBot = Type.Object({
  botId: Id,
  /** Depot's: idle | busy | offline. */
  status: Type.String(),
  taskId: Nullable(Id),
  orderId: Nullable(Id),
  stops: Type.Array(ShoppingStop),
  shoppedStores: Type.Array(Id),
});
export type StaffBot = Static<typeof StaffBot>;

export const StaffSnapshot = Type.Object({
  type: Type.Literal("snapshot"),
  orders: Type.Array(StaffOrder),
  bots: Type.Array(StaffBot),
});

/** A MallBots integration event as the gateway saw it on Herald. */
export const SeenEvent = Type.Object({
  type: Type.String(),
  subject: Type.Optional(Type.String()),
  time: Type.Optional(Type.String()),
  data: Type.Unknown(),
});
export type SeenEvent = Static<typeof SeenEvent>;
export const StaffEvent = Type.Object({ type: Type.Literal("event"), event: SeenEvent });

/** A bot's connection to this gateway opened (`online`) or closed: Depot has no event for it. */
export const StaffBotConnection = Type.Object({
  type: Type.Literal("bot"),
  botId: Id,
  online: Type.Boolean(),
});

export const StaffMessage = Type.Union([StaffSnapshot, StaffEvent, StaffBotConnection]);
export type StaffMessage = Static<typeof StaffMessage>;

// ---------- bots: ws /bots/stream ----------

export const BotHello = Type.Object({ type: Type.Literal("hello"), botId: Id });
export const BotStopShopped = Type.Object({
  type: Type.Literal("stop-shopped"),
  botId: Id,
  taskId: Id,
  storeId: Id,
});
export const BotCompleted = Type.Object({ type: Type.Literal("completed"), botId: Id, taskId: Id });
export const BotRequest = Type.Union([BotHello, BotStopShopped, BotCompleted]);
export type BotRequest = Static<typeof BotRequest>;

export const BotTask = Type.Object({
  type: Type.Literal("task"),
  taskId: Id,
  orderId: Id,
  stops: Type.Array(ShoppingStop),
});
export type BotTask = Static<typeof BotTask>;
export const BotRecall = Type.Object({ type: Type.Literal("recall"), taskId: Id });
export const BotOk = Type.Object({ ok: Type.Literal(true) });
export const BotReply = Type.Union([BotTask, BotRecall, BotOk]);
export type BotReply = Static<typeof BotReply>;

/** What the gateway's feed carries: Herald events, and its own bots' connections. */
export type FeedItem =
  | { readonly kind: "event"; readonly event: SeenEvent }
  | { readonly kind: "bot"; readonly botId: string; readonly online: boolean };
