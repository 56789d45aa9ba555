// The depot: shopping tasks and the bots that shop them. Every change is one SQLite transaction that
// also writes the events it causes into the outbox (and, for an event, the inbox record), so a crash
// loses neither the change nor its events, and a redelivered event changes nothing twice.
//
// A task: queued → shopping (a bot has it) → shopped → awaiting-pickup → picked-up, or cancelled.
// Dispatch hands queued tasks, oldest first, to idle bots, longest idle first; it runs in every
// transaction that queues a task or frees a bot.
import { createHash } from "node:crypto";
import { type CloudEvent, DELIVERAT } from "@herald/cloudevents";
import { inboxKey, NonRetryableError, sqliteInboxIn } from "@herald/sdk";
import {
  BotDispatched,
  BotRecalled,
  follow,
  type OrderItem,
  OrderHandedOver,
  ShoppingCancelled,
  ShoppingCompleted,
  ShoppingFailed,
  type ShoppingStop,
  type SqliteDatabase,
  StopShopped,
  TaskCreated,
  TaskDeadline,
  type TaskStatus,
} from "@mallbots/contracts";
import type { CatalogCopy } from "./catalog-copy.js";
import type { BotStatus, BotTask, BotView, TaskView } from "./views.js";

/** Adds events to an outbox inside the current transaction (sqliteOutbox(db).add). */
export type AddEvents = (events: readonly CloudEvent[]) => void;

export interface DepotOptions {
  readonly db: SqliteDatabase;
  readonly catalog: CatalogCopy;
  /** The outbox of immediate events. */
  readonly outbox: AddEvents;
  /** The outbox of scheduled events (`deliverat`): see outbox.ts for why it is another one. */
  readonly timers: AddEvents;
  /** The choreography's deadline of a task, from OrderPaid. */
  readonly botTimeoutMs: number;
}

interface TaskRow {
  task_id: string;
  order_id: string;
  status: TaskStatus;
  stops: string;
  bot_id: string | null;
  shopped_stores: string;
  dispatches: number;
  reason: string | null;
  correlation_id: string;
  cause_id: string;
  traceparent: string | null;
  created_at: number;
  updated_at: number;
}

interface BotRow {
  bot_id: string;
  status: BotStatus;
  task_id: string | null;
  updated_at: number;
}

export interface TaskFilter {
  readonly orderId?: string;
  readonly status?: TaskStatus;
}

/**
 * An order's task id, derived from the order, so the task's events have ids a re-creation repeats
 * (a Depot that lost its database and replays the log publishes TaskCreated again: Herald keeps one).
 */
export const taskIdOf = (orderId: string) =>
  `task-${createHash("sha256").update(orderId).digest("base64url").slice(0, 22)}`;

const iso = (ms: number) => new Date(ms).toISOString();

function taskView(row: TaskRow): TaskView {
  return {
    taskId: row.task_id,
    orderId: row.order_id,
    status: row.status,
    stops: JSON.parse(row.stops) as ShoppingStop[],
    ...(row.bot_id !== null ? { botId: row.bot_id } : {}),
    shoppedStores: JSON.parse(row.shopped_stores) as string[],
    ...(row.reason !== null ? { reason: row.reason } : {}),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

const botTask = (row: TaskRow): BotTask => ({
  taskId: row.task_id,
  orderId: row.order_id,
  stops: JSON.parse(row.stops) as ShoppingStop[],
});

/**
 * Attributes of an event a task causes without an event causing it (a dispatch, a bot's report, a
 * pickup): the order's conversation, the event that created the task, and the order's trace. Not the
 * caller's: a bot's report belongs to the bot's session, and the order's events stay in one trace.
 */
function taskAttributes(row: TaskRow): Record<string, string> {
  return {
    subject: row.order_id,
    correlationid: row.correlation_id,
    causationid: row.cause_id,
    ...(row.traceparent !== null ? { traceparent: row.traceparent } : {}),
  };
}

export class Depot {
  readonly #db: SqliteDatabase;
  readonly #catalog: CatalogCopy;
  readonly #outbox: AddEvents;
  readonly #timers: AddEvents;
  readonly #botTimeoutMs: number;
  readonly #inbox;

  constructor(options: DepotOptions) {
    this.#db = options.db;
    this.#catalog = options.catalog;
    this.#outbox = options.outbox;
    this.#timers = options.timers;
    this.#botTimeoutMs = options.botTimeoutMs;
    this.#inbox = sqliteInboxIn(options.db);
    // Records past their TTL (7 days) are only dead weight: dropped at each start.
    this.#inbox.sweep();
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS tasks (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL UNIQUE, order_id TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL, stops TEXT NOT NULL, bot_id TEXT, shopped_stores TEXT NOT NULL DEFAULT '[]',
        dispatches INTEGER NOT NULL DEFAULT 0, reason TEXT,
        correlation_id TEXT NOT NULL, cause_id TEXT NOT NULL, traceparent TEXT,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status, seq);
      CREATE TABLE IF NOT EXISTS bots (
        bot_id TEXT PRIMARY KEY, status TEXT NOT NULL, task_id TEXT,
        idle_since INTEGER, updated_at INTEGER NOT NULL);
      -- Choreography: an order's items, from OrderPlaced until OrderPaid creates its task.
      CREATE TABLE IF NOT EXISTS pending_orders (order_id TEXT PRIMARY KEY, items TEXT NOT NULL);`);
  }

  /**
   * Runs `change` in one transaction with the inbox: a redelivered event (same source+id) is skipped.
   * Whatever `change` throws rolls everything back, the inbox record included, so a retry runs again.
   */
  handleOnce(event: CloudEvent, change: () => void): void {
    this.#db.transaction(() => {
      if (this.#inbox.firstTime(inboxKey(event))) change();
    })();
  }

  // ---------- the order flow (called inside handleOnce) ----------

  /** Choreography: the items wait for OrderPaid. */
  rememberOrder(orderId: string, items: readonly OrderItem[]): void {
    this.#db
      .prepare("INSERT INTO pending_orders (order_id, items) VALUES (?, ?) ON CONFLICT DO NOTHING")
      .run(orderId, JSON.stringify(items));
  }

  /** Choreography: the order is paid; its remembered items become a task with a deadline. */
  orderPaid(cause: CloudEvent, orderId: string): void {
    const pending = this.#db
      .prepare<[string], { items: string }>("SELECT items FROM pending_orders WHERE order_id = ?")
      .get(orderId);
    if (pending === undefined) {
      if (this.#taskOf(orderId) !== undefined) return;
      // OrderPlaced comes first in the order's stream: this is a bug, not a race. Retried, then dead-lettered.
      throw new Error(`order ${orderId} was paid but Depot never saw it placed`);
    }
    const taskId = this.createTask(cause, orderId, JSON.parse(pending.items) as OrderItem[]);
    this.#db.prepare("DELETE FROM pending_orders WHERE order_id = ?").run(orderId);
    if (taskId === undefined) return;
    const at = new Date(Date.now() + this.#botTimeoutMs).toISOString();
    this.#timers([
      TaskDeadline.create({
        id: `${taskId}:deadline`,
        subject: orderId,
        [DELIVERAT]: at,
        ...follow(cause),
        data: { taskId, orderId },
      }),
    ]);
  }

  /** A task for the order (queued, then dispatched): its id; undefined when the order has one already. */
  createTask(cause: CloudEvent, orderId: string, items: readonly OrderItem[]): string | undefined {
    if (this.#taskOf(orderId) !== undefined) return undefined;
    const stops = this.#catalog.stopsFor(items);
    const taskId = taskIdOf(orderId);
    const now = Date.now();
    const attributes = follow(cause);
    this.#db
      .prepare(
        `INSERT INTO tasks (task_id, order_id, status, stops, correlation_id, cause_id, traceparent, created_at, updated_at)
         VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        taskId,
        orderId,
        JSON.stringify(stops),
        attributes["correlationid"],
        cause.id,
        attributes["traceparent"] ?? null,
        now,
        now,
      );
    this.#outbox([
      TaskCreated.create({
        id: `${taskId}:created`,
        subject: orderId,
        ...attributes,
        data: { taskId, orderId, stops },
      }),
    ]);
    this.#dispatch();
    return taskId;
  }

  /**
   * The order is cancelled (CancelShopping, OrderCancelled): the task is cancelled and its bot
   * recalled. Answered with ShoppingCancelled every time, also when there is no task (the saga's
   * compensation must be idempotent).
   */
  cancel(cause: CloudEvent, orderId: string, reason: string): void {
    this.#db.prepare("DELETE FROM pending_orders WHERE order_id = ?").run(orderId);
    const task = this.#taskOf(orderId);
    if (task !== undefined && task.status !== "cancelled") {
      // Handed over is done: the goods left with the customer. Nothing to cancel any more.
      if (task.status === "picked-up")
        console.error(`depot: order ${orderId} is cancelled after its pickup; the task stays picked-up`);
      else this.#cancelTask(cause, task, reason);
    }
    this.#outbox([
      ShoppingCancelled.create({
        id: `${cause.id}:shopping-cancelled`,
        subject: orderId,
        ...follow(cause),
        data: { orderId, ...(task !== undefined ? { taskId: task.task_id } : {}) },
      }),
    ]);
  }

  /** Choreography: a task's deadline came. Not shopped by then: it fails, the bot is recalled. */
  deadline(cause: CloudEvent, taskId: string): void {
    const task = this.#task(taskId);
    if (task === undefined || (task.status !== "queued" && task.status !== "shopping")) return;
    const reason = "bot timeout";
    this.#cancelTask(cause, task, reason);
    this.#outbox([
      ShoppingFailed.create({
        id: `${taskId}:failed`,
        subject: task.order_id,
        ...follow(cause),
        data: { taskId, orderId: task.order_id, reason },
      }),
    ]);
  }

  /** HoldForPickup / OrderReady: the order is ready and paid for; the customer may come. */
  holdForPickup(orderId: string): void {
    const task = this.#taskOf(orderId);
    if (task?.status === "awaiting-pickup" || task?.status === "picked-up") return;
    if (task?.status !== "shopped")
      throw new NonRetryableError(
        `order ${orderId} cannot wait for pickup: its task is ${task?.status ?? "unknown"}`,
      );
    this.#setStatus(task.task_id, "awaiting-pickup");
  }

  // ---------- bots and the counter (HTTP) ----------

  /**
   * The bot is connected. It gets back the task it still holds (a reconnect), else it is idle and
   * dispatch may give it one at once. Answers the task the bot holds after the call, if any.
   */
  botReady(botId: string): BotTask | undefined {
    return this.#db.transaction(() => {
      const held = this.#heldTask(botId);
      const now = Date.now();
      if (held !== undefined) {
        this.#db
          .prepare(
            `INSERT INTO bots (bot_id, status, task_id, updated_at) VALUES (?, 'busy', ?, ?)
             ON CONFLICT (bot_id) DO UPDATE SET status = 'busy', task_id = excluded.task_id, updated_at = excluded.updated_at`,
          )
          .run(botId, held.task_id, now);
        return botTask(held);
      }
      this.#db
        .prepare(
          `INSERT INTO bots (bot_id, status, task_id, idle_since, updated_at) VALUES (?, 'idle', NULL, ?, ?)
           ON CONFLICT (bot_id) DO UPDATE SET status = 'idle', task_id = NULL,
             idle_since = excluded.idle_since, updated_at = excluded.updated_at`,
        )
        .run(botId, now, now);
      this.#dispatch();
      const dispatched = this.#heldTask(botId);
      return dispatched && botTask(dispatched);
    })();
  }

  /** The bot went away: a task it was shopping goes back to the queue, for another bot. */
  botOffline(botId: string): void {
    this.#db.transaction(() => {
      const held = this.#heldTask(botId);
      this.#db
        .prepare(
          "UPDATE bots SET status = 'offline', task_id = NULL, idle_since = NULL, updated_at = ? WHERE bot_id = ?",
        )
        .run(Date.now(), botId);
      if (held === undefined) return;
      this.#db
        .prepare("UPDATE tasks SET status = 'queued', bot_id = NULL, updated_at = ? WHERE task_id = ?")
        .run(Date.now(), held.task_id);
      this.#dispatch();
    })();
  }

  /** The bot has a store's items: StopShopped, once per store. Undefined: no such task. */
  stopShopped(taskId: string, storeId: string, botId: string): TaskView | undefined {
    return this.#db.transaction(() => {
      const task = this.#task(taskId);
      if (task === undefined) return undefined;
      this.#mustBeShoppingBy(task, botId);
      const stops = JSON.parse(task.stops) as ShoppingStop[];
      if (!stops.some((s) => s.storeId === storeId))
        throw new NonRetryableError(`task ${taskId} has no stop at store ${storeId}`);
      const shopped = JSON.parse(task.shopped_stores) as string[];
      if (shopped.includes(storeId)) return taskView(task);
      this.#db
        .prepare("UPDATE tasks SET shopped_stores = ?, updated_at = ? WHERE task_id = ?")
        .run(JSON.stringify([...shopped, storeId]), Date.now(), taskId);
      this.#outbox([
        StopShopped.create({
          id: `${taskId}:stop:${storeId}`,
          ...taskAttributes(task),
          data: { botId, taskId, orderId: task.order_id, storeId },
        }),
      ]);
      return taskView(this.#task(taskId)!);
    })();
  }

  /** The bot is back with everything: ShoppingCompleted once, the bot is free for the next task. */
  complete(taskId: string, botId: string): TaskView | undefined {
    return this.#db.transaction(() => {
      const task = this.#task(taskId);
      if (task === undefined) return undefined;
      const done =
        task.status === "shopped" || task.status === "awaiting-pickup" || task.status === "picked-up";
      if (done && task.bot_id === botId) return taskView(task); // a repeat: answered, nothing written
      this.#mustBeShoppingBy(task, botId);
      this.#setStatus(taskId, "shopped");
      this.#freeBot(botId);
      this.#outbox([
        ShoppingCompleted.create({
          id: `${taskId}:completed`,
          ...taskAttributes(task),
          data: { taskId, orderId: task.order_id, botId },
        }),
      ]);
      this.#dispatch();
      return taskView(this.#task(taskId)!);
    })();
  }

  /** The customer is at the counter: only an order awaiting pickup is handed over (once). */
  pickup(orderId: string): TaskView {
    return this.#db.transaction(() => {
      const task = this.#taskOf(orderId);
      if (task?.status === "picked-up") return taskView(task);
      if (task?.status !== "awaiting-pickup")
        throw new NonRetryableError(
          task === undefined
            ? `no task for order ${orderId}`
            : `order ${orderId} is not ready: ${task.status}`,
        );
      this.#setStatus(task.task_id, "picked-up");
      this.#outbox([
        OrderHandedOver.create({
          id: `${task.task_id}:handed-over`,
          ...taskAttributes(task),
          data: { orderId, taskId: task.task_id },
        }),
      ]);
      return taskView(this.#task(task.task_id)!);
    })();
  }

  // ---------- queries ----------

  task(taskId: string): TaskView | undefined {
    const row = this.#task(taskId);
    return row && taskView(row);
  }

  tasks(filter: TaskFilter = {}): TaskView[] {
    return this.#db
      .prepare<{ orderId: string | null; status: string | null }, TaskRow>(
        `SELECT * FROM tasks WHERE (:orderId IS NULL OR order_id = :orderId) AND (:status IS NULL OR status = :status)
         ORDER BY seq`,
      )
      .all({ orderId: filter.orderId ?? null, status: filter.status ?? null })
      .map(taskView);
  }

  bots(): BotView[] {
    return this.#db
      .prepare<[], BotRow>("SELECT bot_id, status, task_id, updated_at FROM bots ORDER BY bot_id")
      .all()
      .map((row) => ({
        botId: row.bot_id,
        status: row.status,
        ...(row.task_id !== null ? { taskId: row.task_id } : {}),
        updatedAt: iso(row.updated_at),
      }));
  }

  // ---------- inside transactions ----------

  #task(taskId: string): TaskRow | undefined {
    return this.#db.prepare<[string], TaskRow>("SELECT * FROM tasks WHERE task_id = ?").get(taskId);
  }

  #taskOf(orderId: string): TaskRow | undefined {
    return this.#db.prepare<[string], TaskRow>("SELECT * FROM tasks WHERE order_id = ?").get(orderId);
  }

  /** The task this bot is shopping, if Depot still gives it to this bot. */
  #heldTask(botId: string): TaskRow | undefined {
    return this.#db
      .prepare<[string], TaskRow>("SELECT * FROM tasks WHERE bot_id = ? AND status = 'shopping'")
      .get(botId);
  }

  #mustBeShoppingBy(task: TaskRow, botId: string): void {
    if (task.status !== "shopping" || task.bot_id !== botId)
      throw new NonRetryableError(
        task.status === "shopping"
          ? `task ${task.task_id} is not bot ${botId}'s`
          : `task ${task.task_id} is ${task.status}${task.reason !== null ? ` (${task.reason})` : ""}`,
      );
  }

  #setStatus(taskId: string, status: TaskStatus, reason?: string): void {
    this.#db
      .prepare("UPDATE tasks SET status = ?, reason = coalesce(?, reason), updated_at = ? WHERE task_id = ?")
      .run(status, reason ?? null, Date.now(), taskId);
  }

  #freeBot(botId: string): void {
    const now = Date.now();
    this.#db
      .prepare(
        "UPDATE bots SET status = 'idle', task_id = NULL, idle_since = ?, updated_at = ? WHERE bot_id = ? AND status <> 'offline'",
      )
      .run(now, now, botId);
  }

  /** Cancelled; a bot shopping it is recalled (BotRecalled) and freed for the next task. */
  #cancelTask(cause: CloudEvent, task: TaskRow, reason: string): void {
    this.#setStatus(task.task_id, "cancelled", reason);
    if (task.status !== "shopping" || task.bot_id === null) return;
    this.#freeBot(task.bot_id);
    this.#outbox([
      BotRecalled.create({
        id: `${task.task_id}:recalled`,
        subject: task.order_id,
        ...follow(cause),
        data: { botId: task.bot_id, taskId: task.task_id, orderId: task.order_id },
      }),
    ]);
    this.#dispatch();
  }

  /** Queued tasks, oldest first, to idle bots, longest idle first: BotDispatched for each. */
  #dispatch(): void {
    const nextTask = this.#db.prepare<[], TaskRow>(
      "SELECT * FROM tasks WHERE status = 'queued' ORDER BY seq LIMIT 1",
    );
    const nextBot = this.#db.prepare<[], { bot_id: string }>(
      "SELECT bot_id FROM bots WHERE status = 'idle' ORDER BY idle_since, bot_id LIMIT 1",
    );
    for (;;) {
      const task = nextTask.get();
      const bot = task && nextBot.get();
      if (task === undefined || bot === undefined) return;
      const now = Date.now();
      this.#db
        .prepare(
          "UPDATE tasks SET status = 'shopping', bot_id = ?, dispatches = dispatches + 1, updated_at = ? WHERE task_id = ?",
        )
        .run(bot.bot_id, now, task.task_id);
      this.#db
        .prepare(
          "UPDATE bots SET status = 'busy', task_id = ?, idle_since = NULL, updated_at = ? WHERE bot_id = ?",
        )
        .run(task.task_id, now, bot.bot_id);
      this.#outbox([
        BotDispatched.create({
          // One per dispatch of the task (a task handed to a second bot after the first went away).
          id: `${task.task_id}:dispatched:${task.dispatches + 1}`,
          ...taskAttributes(task),
          data: { botId: bot.bot_id, ...botTask(task) },
        }),
      ]);
    }
  }
}
