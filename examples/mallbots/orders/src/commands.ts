// The command side: the order decider over Orders' own event store (a Herald SQLite log, one stream
// per order). Every domain event records the conversation it belongs to (correlationid, causationid,
// traceparent), so the integration event made from it later carries them on.
import { CommandHandler, eventLogStore } from "@herald/eventsourcing";
import type { EventLog } from "@herald/log";
import { DOMAIN_SOURCE, ORDER_EVENTS, type OrderCommand, orderDecider, orderStream } from "./domain.js";

export function orderCommands(log: EventLog) {
  const handler = new CommandHandler({
    decider: orderDecider,
    events: ORDER_EVENTS,
    store: eventLogStore(log),
    source: DOMAIN_SOURCE,
  });
  return {
    /** The order's current state (status "none": no such order). */
    load: async (orderId: string) => (await handler.load(orderStream(orderId))).state,
    /**
     * Runs `command` on the order; `conversation` goes on its events: `follow(cause)` for a command
     * an event asked for, `{ correlationid: orderId }` (and the trace) for a new order.
     */
    run(orderId: string, command: OrderCommand, conversation: Readonly<Record<string, string>>) {
      // `time` goes on to the integration event: when the order changed, not when it was published.
      return handler.handle(orderStream(orderId), command, {
        attributes: { ...conversation, subject: orderId, time: new Date().toISOString() },
      });
    },
  };
}
export type OrderCommands = ReturnType<typeof orderCommands>;
