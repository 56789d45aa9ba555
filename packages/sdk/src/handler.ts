// The handler model shared by the pull consumer, the Receiver and the Router.
// A handler gets the event and a context; it returns nothing (done) or a reply event, and throws to fail.
// Events it emits through the context are published only after it succeeds (see UnitOfWork).
import { CloudEvent, type CloudEventInit } from "@herald/cloudevents";
import { derivedEventId } from "./ids.js";

/** What a handler may emit: a built event, or the attributes of one (id derived, see ctx.emit). */
export type OutgoingEvent = CloudEvent | CloudEventInit;

export interface HandlerContext {
  /** 1 on the first delivery; the broker's delivery count on redeliveries. */
  readonly attempt: number;
  /** Aborted when the handler should give up (timeout, consumer stopping). */
  readonly signal: AbortSignal;
  /** How the event arrived ("transport": through a Transport, see consumeTransport). */
  readonly transport: "pull" | "push" | "direct" | "sse" | "ws" | "transport";
  /**
   * Queues an event for publishing once the handler has succeeded. Without an explicit id the id is
   * derived from the handled event's source+id and the emit index, so a redelivered event re-emits the
   * same ids and the broker's dedupe keeps one copy.
   */
  emit(event: OutgoingEvent): CloudEvent;
  /** Registers work to run once the outcome is committed (emitted events published, event acked). */
  onCommit(fn: () => void | Promise<void>): void;
  /** Registers work to run when the handling failed (nothing committed). */
  onAbort(fn: (error: Error) => void | Promise<void>): void;
}

/** Nothing, or a reply to the handled event (gets causationid = handled id; attributes without an id get a derived one). */
export type HandlerResult = OutgoingEvent | undefined;

export type Handler<T = unknown> = (
  event: CloudEvent<T>,
  ctx: HandlerContext,
  // biome-ignore lint/suspicious/noConfusingVoidType: handlers may return nothing at all
) => HandlerResult | void | Promise<HandlerResult | void>;

/** A function that returns nothing or a reply, always async. */
export type NextFn = (event?: CloudEvent, ctx?: HandlerContext) => Promise<HandlerResult>;

export type Middleware = (event: CloudEvent, ctx: HandlerContext, next: NextFn) => Promise<HandlerResult>;

/** Wraps `handler` in `middleware`, the first one outermost. */
export function compose(
  middleware: readonly Middleware[],
  handler: Handler,
): (event: CloudEvent, ctx: HandlerContext) => Promise<HandlerResult> {
  const run = (index: number, event: CloudEvent, ctx: HandlerContext): Promise<HandlerResult> => {
    const mw = middleware[index];
    if (mw === undefined) {
      try {
        return Promise.resolve(handler(event, ctx)).then((r) => r ?? undefined);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    try {
      return mw(event, ctx, (nextEvent, nextCtx) => run(index + 1, nextEvent ?? event, nextCtx ?? ctx));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return (event, ctx) => run(0, event, ctx);
}

/**
 * One handling of one event: collects emitted events and commit/abort hooks; the runner (consumer,
 * Receiver, or `runHandler`) publishes the outbox, then commits, or aborts.
 */
export class UnitOfWork {
  readonly outbox: CloudEvent[] = [];
  readonly #commit: Array<() => void | Promise<void>> = [];
  readonly #abort: Array<(error: Error) => void | Promise<void>> = [];
  readonly context: HandlerContext;

  constructor(
    handled: CloudEvent,
    options: { attempt: number; signal: AbortSignal; transport: HandlerContext["transport"] },
  ) {
    let emitted = 0;
    this.context = {
      attempt: options.attempt,
      signal: options.signal,
      transport: options.transport,
      emit: (outgoing) => {
        const index = emitted++;
        const event =
          outgoing instanceof CloudEvent
            ? outgoing
            : new CloudEvent({ ...outgoing, id: outgoing.id ?? derivedEventId(handled, index) });
        this.outbox.push(event);
        return event;
      },
      onCommit: (fn) => {
        this.#commit.push(fn);
      },
      onAbort: (fn) => {
        this.#abort.push(fn);
      },
    };
  }

  async commit(): Promise<void> {
    for (const fn of this.#commit) await fn();
  }

  async abort(error: Error): Promise<void> {
    for (const fn of this.#abort) {
      try {
        await fn(error);
      } catch {
        // an abort hook must not hide the original failure
      }
    }
  }
}

/** Builds a reply to `request`: causationid = request id, correlationid carried (or the request id). */
export function replyTo(request: CloudEvent, init: CloudEventInit): CloudEvent {
  const correlation = typeof request["correlationid"] === "string" ? request["correlationid"] : request.id;
  return new CloudEvent({
    ...init,
    id: init.id ?? derivedEventId(request, -1),
    causationid: request.id,
    correlationid: init["correlationid"] ?? correlation,
  });
}
