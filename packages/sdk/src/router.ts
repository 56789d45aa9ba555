// Router: handlers keyed by event type, typed definition, or filter (CESQL text or a predicate),
// wrapped by middleware. The first matching route (in registration order) handles an event.
import { type CloudEvent, compileCesql } from "@herald/cloudevents";
import { NonRetryableError } from "./errors.js";
import {
  compose,
  type Handler,
  type HandlerContext,
  type HandlerResult,
  type Middleware,
} from "./handler.js";
import { type DefaultMiddlewareOptions, defaultMiddleware } from "./middleware/defaults.js";
import {
  type ConsumeTransportOptions,
  consumeTransport,
  type TransportConsumer,
} from "./transport/consume-transport.js";
import type { Transport } from "./transport/transport.js";
import type { EventDefinition, TypedEvent } from "./typed/define-event.js";

/** A handler of a typed route: `event.data` is validated and typed. */
export type TypedHandler<T> = (event: TypedEvent<T>, ctx: HandlerContext) => ReturnType<Handler<T>>;

export type EventPredicate = (event: CloudEvent) => boolean;

export interface RouterOptions extends DefaultMiddlewareOptions {
  /** Apply the default middleware stack (default true); false = only what `use()` adds. */
  readonly defaults?: boolean;
  /** What to do with an event no route matches: ack it (`ignore`, default) or fail it as non-retryable. */
  readonly unmatched?: "ignore" | "reject";
}

interface Route {
  readonly describe: string;
  readonly matches: EventPredicate;
  readonly run: (event: CloudEvent, ctx: HandlerContext) => Promise<HandlerResult>;
}

export class Router {
  readonly #routes: Route[] = [];
  readonly #middleware: Middleware[];
  readonly #unmatched: "ignore" | "reject";
  #composed: ((event: CloudEvent, ctx: HandlerContext) => Promise<HandlerResult>) | undefined;

  constructor(options: RouterOptions = {}) {
    this.#middleware = options.defaults === false ? [] : defaultMiddleware(options);
    this.#unmatched = options.unmatched ?? "ignore";
  }

  /** Adds middleware inside the defaults (outermost first), for every route. */
  use(...middleware: Middleware[]): this {
    this.#middleware.push(...middleware);
    this.#composed = undefined;
    return this;
  }

  /** Routes events of one type. With a definition, data is upcast and validated and `event.data` is typed. */
  on<T>(definition: EventDefinition<T>, handler: TypedHandler<T>, ...middleware: Middleware[]): this;
  on(type: string, handler: Handler, ...middleware: Middleware[]): this;
  on(key: string | EventDefinition, handler: TypedHandler<never>, ...middleware: Middleware[]): this {
    if (typeof key === "string") {
      return this.#add(`type ${key}`, (e) => e.type === key, handler as Handler, middleware);
    }
    const definition = key;
    // Validation runs inside the route, so dead letters, metrics and traces see its failures.
    const validate: Middleware = (event, _ctx, next) => next(definition.parse(event));
    return this.#add(
      `type ${definition.type} v${definition.version}`,
      (e) => definition.is(e),
      handler as Handler,
      [validate, ...middleware],
    );
  }

  /**
   * Routes events matching a CESQL v1 expression (compiled now: a syntax error throws CesqlError here,
   * not per event) or a predicate.
   */
  when(filter: string | EventPredicate, handler: Handler, ...middleware: Middleware[]): this {
    if (typeof filter === "function") return this.#add("predicate", filter, handler, middleware);
    const compiled = compileCesql(filter);
    return this.#add(`sql ${filter}`, (e) => compiled.matches(e), handler, middleware);
  }

  /** The router as a handler: give it to `client.subscribe`, a Receiver, or call it directly. */
  readonly handle = (event: CloudEvent, ctx: HandlerContext): Promise<HandlerResult> => {
    if (!this.#composed) this.#composed = compose(this.#middleware, (e, c) => this.#dispatch(e, c));
    return this.#composed(event, ctx);
  };

  /** Consumes `options.topic` as a member of `options.group` on any transport (see consumeTransport). */
  consume(transport: Transport, options: ConsumeTransportOptions): Promise<TransportConsumer> {
    return consumeTransport(transport, this.handle, options);
  }

  /** Descriptions of the routes, in match order (for logs and docs). */
  routes(): string[] {
    return this.#routes.map((r) => r.describe);
  }

  #add(describe: string, matches: EventPredicate, handler: Handler, middleware: Middleware[]): this {
    this.#routes.push({ describe, matches, run: compose(middleware, handler) });
    return this;
  }

  #dispatch(event: CloudEvent, ctx: HandlerContext): Promise<HandlerResult> {
    for (const route of this.#routes) {
      if (route.matches(event)) return route.run(event, ctx);
    }
    if (this.#unmatched === "reject") {
      return Promise.reject(new NonRetryableError(`no route for event type ${event.type}`, { status: 422 }));
    }
    return Promise.resolve(undefined);
  }
}
