// The one outcome model of asynchronous sources (Herald subscriptions, transports, broker-delivered cron): the
// definitions of a subscription become one SDK Handler, and the handler's result decides what the
// consumer does with the event, the same way for pull and push:
//   returns            → ack (a reply event is published by pull consumers)
//   RetryableError     → nack with its delay (else the consumer's backoff)
//   NonRetryableError  → dead letter (refused by authorize, invalid data, unmatched type, invalid reply)
//   any other throw    → nack with backoff, dead letter once the subscription's maxDeliveries is reached
// "Dead letter" is the subscription's policy: a push sink's 4xx is dead-lettered by the broker at once;
// a pull consumer nacks it and the broker dead-letters it at maxDeliveries, unless the definition names
// a `deadLetterStream` (then it is written there with the reason and acked at once).
import { CloudEvent } from "@herald/cloudevents";
import {
  type DataIssue,
  EventDataValidationError,
  type Handler,
  NonRetryableError,
  RetryableError,
} from "@herald/sdk";
import type { AsyncDefinition, AsyncInvalidHook, Principal } from "../definition.js";
import type { Outcomes } from "../outcomes.js";
import { compileSchema, type Validator } from "../schema.js";

interface Compiled {
  readonly definition: AsyncDefinition;
  readonly data: Validator | undefined;
  readonly output: Validator | undefined;
}

/** An event no definition of the subscription takes. */
export class UnmatchedEventError extends NonRetryableError {
  override readonly name = "UnmatchedEventError";
}
/** The definition's authorize refused the event's source for its type. */
export class EventRefusedError extends NonRetryableError {
  override readonly name = "EventRefusedError";
}

export function asyncHandler(
  key: string,
  definitions: readonly AsyncDefinition[],
  outcomes: Outcomes,
  /** The source-level hook for invalid data (a definition's own `onInvalid` wins). */
  onInvalid?: AsyncInvalidHook,
): Handler {
  const compiled: Compiled[] = definitions.map((definition) => ({
    definition,
    // A typed event (sdk defineEvent) validates itself, with upcasting; a bare schema is compiled here.
    data: definition.event || definition.data === undefined ? undefined : compileSchema(definition.data),
    output: definition.output === undefined ? undefined : compileSchema(definition.output),
  }));
  const unmatchedPolicy = definitions.some((d) => d.unmatched === "nack") ? "nack" : "dead-letter";
  return async (event, ctx) => {
    const match = compiled.find(
      (c) => c.definition.types === undefined || c.definition.types.includes(event.type),
    );
    if (!match) {
      outcomes.count(key, "unmatched", {
        type: event.type,
        id: event.id,
        source: event.source,
        policy: unmatchedPolicy,
      });
      const message = `no definition of ${key} takes event type ${event.type}`;
      if (unmatchedPolicy === "nack") throw new RetryableError(message);
      throw new UnmatchedEventError(message);
    }
    const { definition } = match;
    const principal: Principal = { kind: "event-source", subject: event.source, scopes: [] };
    if (definition.authorize && !(await definition.authorize(event, principal))) {
      outcomes.count(key, "refused", { type: event.type, id: event.id, source: event.source });
      throw new EventRefusedError(`source ${event.source} may not emit ${event.type} to ${key}`);
    }
    let typed = event;
    try {
      if (definition.event) typed = definition.event.parse(event);
      else if (match.data) {
        const issues: DataIssue[] = match.data
          .check(event.data, "")
          .map((i) => ({ path: i.field, message: i.reason }));
        if (issues.length > 0) throw new EventDataValidationError(event.type, 1, issues);
      }
    } catch (error) {
      outcomes.count(key, "invalid", { type: event.type, id: event.id, error: (error as Error).message });
      const hook = definition.onInvalid ?? onInvalid;
      if (hook === undefined || !(error instanceof EventDataValidationError)) throw error;
      const decision = await hook(event, error.issues);
      if (decision === "nack")
        throw new RetryableError(`invalid data, nacked by onInvalid: ${error.message}`);
      if (decision === "ack") {
        outcomes.log(
          "warn",
          { key, id: event.id, type: event.type, error: error.message },
          "invalid event acked by onInvalid",
        );
        return undefined;
      }
      throw error;
    }
    let result: unknown;
    try {
      result = await definition.handler(typed, ctx);
    } catch (error) {
      outcomes.count(key, "failed", { type: event.type, id: event.id, error: (error as Error).message });
      throw error;
    }
    if (result && match.output) {
      const data = result instanceof CloudEvent ? result.data : (result as { data?: unknown }).data;
      const issues = match.output.check(data, "data");
      if (issues.length > 0) {
        outcomes.count(key, "output-invalid", { type: event.type, id: event.id, errors: issues });
        throw new NonRetryableError(
          `the reply of ${key} breaks its schema: ${issues.map((i) => `${i.field} ${i.reason}`).join("; ")}`,
        );
      }
    }
    outcomes.count(key, "handled");
    return result as ReturnType<Handler> extends Promise<infer R> ? R : never;
  };
}
