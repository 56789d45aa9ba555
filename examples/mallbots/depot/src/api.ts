// Depot's HTTP API (scope mallbots:internal): the gateway calls it for the bots' stream and the
// kiosk's pickup, and reads tasks and bots for the staff page. A refusal (the task was cancelled, is
// another bot's, the order is not ready) is a NonRetryableError thrown by Depot: 422 handler-refused.
import { defineEventSource, type EventSourceDefinition, http } from "@herald/service";
import { notFound, Problem, SCOPES } from "@mallbots/contracts";
import { Type } from "@sinclair/typebox";
import type { Depot } from "./depot.js";
import { BotTask, BotView, TaskStatusSchema, TaskView } from "./views.js";

const Id = Type.String({ minLength: 1, maxLength: 100 });
const BotParams = Type.Object({ botId: Id });
const TaskParams = Type.Object({ taskId: Id });
const BotBody = Type.Object({ botId: Id }, { additionalProperties: false });
const auth = { scopes: [SCOPES.internal] };

const noTask = (taskId: string) => notFound(`no task ${taskId}`);

export function depotApi(depot: Depot): EventSourceDefinition[] {
  return [
    defineEventSource({
      trigger: http.post("/bots/:botId/ready"),
      summary: "A bot is connected: it gets the task it holds, or is idle and may be dispatched one at once",
      input: { params: BotParams },
      output: { 200: Type.Object({ botId: Id, task: Type.Optional(BotTask) }) },
      auth,
      handler: ({ params }) => {
        const task = depot.botReady(params.botId);
        return { status: 200, body: { botId: params.botId, ...(task ? { task } : {}) } };
      },
    }),
    defineEventSource({
      trigger: http.delete("/bots/:botId"),
      summary: "A bot went offline: a task it was shopping is queued again",
      input: { params: BotParams },
      output: { 204: Type.Unknown({ description: "no body" }) },
      auth,
      handler: ({ params }) => {
        depot.botOffline(params.botId);
        return { status: 204, body: undefined };
      },
    }),
    defineEventSource({
      trigger: http.post("/tasks/:taskId/stops/:storeId"),
      summary: "A bot has a store's items (StopShopped, once per store)",
      input: { params: Type.Object({ taskId: Id, storeId: Id }), body: BotBody },
      output: { 200: TaskView, 404: Problem },
      auth,
      handler: ({ params, body }) => {
        const task = depot.stopShopped(params.taskId, params.storeId, body.botId);
        return task ? { status: 200, body: task } : noTask(params.taskId);
      },
    }),
    defineEventSource({
      trigger: http.post("/tasks/:taskId/complete"),
      summary: "A bot finished its task (ShoppingCompleted once; the bot is free again)",
      input: { params: TaskParams, body: BotBody },
      output: { 200: TaskView, 404: Problem },
      auth,
      handler: ({ params, body }) => {
        const task = depot.complete(params.taskId, body.botId);
        return task ? { status: 200, body: task } : noTask(params.taskId);
      },
    }),
    defineEventSource({
      trigger: http.post("/pickups"),
      summary: "The customer is at the counter: hand over an order awaiting pickup (OrderHandedOver once)",
      input: { body: Type.Object({ orderId: Id }, { additionalProperties: false }) },
      output: { 200: Type.Object({ orderId: Id, taskId: Id }) },
      auth,
      handler: ({ body }) => {
        const task = depot.pickup(body.orderId);
        return { status: 200, body: { orderId: task.orderId, taskId: task.taskId } };
      },
    }),
    defineEventSource({
      trigger: http.get("/tasks"),
      summary: "Tasks in creation order, by order and/or status",
      input: { query: Type.Object({ orderId: Type.Optional(Id), status: Type.Optional(TaskStatusSchema) }) },
      output: { 200: Type.Array(TaskView) },
      auth,
      handler: ({ query }) => ({ status: 200, body: depot.tasks(query) }),
    }),
    defineEventSource({
      trigger: http.get("/tasks/:taskId"),
      summary: "One task",
      input: { params: TaskParams },
      output: { 200: TaskView, 404: Problem },
      auth,
      handler: ({ params }) => {
        const task = depot.task(params.taskId);
        return task ? { status: 200, body: task } : noTask(params.taskId);
      },
    }),
    defineEventSource({
      trigger: http.get("/bots"),
      summary: "Every bot Depot has seen, with its status and task",
      output: { 200: Type.Array(BotView) },
      auth,
      handler: () => ({ status: 200, body: depot.bots() }),
    }),
  ];
}
