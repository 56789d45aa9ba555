// The event catalog: the domain events of one model, keyed by their CloudEvents type, each with its
// defineEvent definition. Deciders and projections see plain `{ type, data }` objects (easy to
// compare in specifications); the catalog turns them into validated CloudEvents on the way into the
// store and parses (upcasts + validates) stored CloudEvents on the way out.
import type { CloudEvent } from "@herald/cloudevents";
import type { EventData, EventDefinition, TypedEventInit } from "@herald/sdk";

/** `{ "order.placed": OrderPlaced, … }`: each key must equal its definition's `type`. */
export type EventCatalog = Readonly<Record<string, EventDefinition<unknown>>>;

/** The domain events of a catalog as a discriminated union on `type`. */
export type DomainEventOf<C extends EventCatalog> = {
  [K in keyof C & string]: { readonly type: K; readonly data: EventData<C[K]> };
}[keyof C & string];

/** Extra CloudEvents attributes for the events a command produces (source is required by create()). */
export type EventAttributes = Omit<TypedEventInit<unknown>, "data">;

export interface CatalogCodec<E extends { type: string; data: unknown }> {
  /** True when the catalog defines this event's type. */
  knows(event: CloudEvent): boolean;
  /** Upcasts and validates; throws EventDataValidationError (or TypeError for an unknown type). */
  decode(event: CloudEvent): E;
  /** A validated CloudEvent (create() checks the data against the schema). */
  encode(event: E, attributes: EventAttributes): CloudEvent;
}

/** Checks the catalog's keys against its definitions and returns its codec. */
export function catalogCodec<C extends EventCatalog>(catalog: C): CatalogCodec<DomainEventOf<C>> {
  const byType = new Map<string, EventDefinition<unknown>>();
  for (const [key, definition] of Object.entries(catalog)) {
    if (key !== definition.type)
      throw new TypeError(`event catalog key "${key}" names a definition of type "${definition.type}"`);
    byType.set(key, definition as EventDefinition<unknown>);
  }
  const definitionOf = (type: string): EventDefinition<unknown> => {
    const definition = byType.get(type);
    if (definition === undefined) throw new TypeError(`event type "${type}" is not in the catalog`);
    return definition;
  };
  return {
    knows: (event) => byType.has(event.type),
    decode(event) {
      const parsed = definitionOf(event.type).parse(event);
      return { type: event.type, data: parsed.data } as DomainEventOf<C>;
    },
    encode(event, attributes) {
      return definitionOf(event.type).create({ ...attributes, data: event.data });
    },
  };
}
