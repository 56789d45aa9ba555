// Runs one handling of one event as a unit of work: delivery span, handler, then publish what the
// handler emitted (and its reply, when `publishReply`), then commit hooks. Shared by the pull consumer
// and the Receiver.
import { CloudEvent } from "@herald/cloudevents";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { toError } from "../errors.js";
import { type Handler, type HandlerContext, type OutgoingEvent, replyTo, UnitOfWork } from "../handler.js";
import { contextFromEvent, sdkTracer } from "../tracing/trace-context.js";

/** Publishes a handler's output atomically; throws when it is not durable. */
export type Publish = (events: readonly CloudEvent[]) => Promise<void>;

export interface RunOptions {
  readonly attempt: number;
  readonly signal: AbortSignal;
  readonly transport: HandlerContext["transport"];
  /** Where emitted events (and the reply, when publishReply) go. */
  readonly publish: Publish | undefined;
  /** Publish the reply with the emitted events (pull) or hand it back to the caller (push answers it). */
  readonly publishReply: boolean;
}

export type RunOutcome =
  | { readonly ok: true; readonly reply: CloudEvent | undefined }
  | { readonly ok: false; readonly error: Error };

// A handler typed to return void may still return a value at run time (`(e) => list.push(e)`):
// only an event, or attributes with a type, count as a reply.
function isOutgoingEvent(value: unknown): value is OutgoingEvent {
  if (value instanceof CloudEvent) return true;
  return (
    typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string"
  );
}

export async function runHandler(
  handler: Handler,
  event: CloudEvent,
  options: RunOptions,
): Promise<RunOutcome> {
  const span = sdkTracer().startSpan(
    `herald deliver ${event.type}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        "messaging.system": "herald",
        "messaging.operation.type": "receive",
        "messaging.message.id": event.id,
        "cloudevents.event_id": event.id,
        "cloudevents.event_type": event.type,
        ...(event.subject === undefined ? {} : { "cloudevents.event_subject": event.subject }),
        "herald.delivery.transport": options.transport,
        "herald.delivery.attempt": options.attempt,
      },
    },
    contextFromEvent(event),
  );
  const work = new UnitOfWork(event, options);
  try {
    // Without a recording span (no OpenTelemetry SDK) there is no context worth activating.
    const returned = span.isRecording()
      ? await context.with(trace.setSpan(contextFromEvent(event), span), () =>
          Promise.resolve(handler(event, work.context)),
        )
      : await handler(event, work.context);
    const reply = isOutgoingEvent(returned) ? replyTo(event, returned) : undefined;
    const out = options.publishReply && reply ? [...work.outbox, reply] : work.outbox;
    if (out.length > 0) {
      if (!options.publish)
        throw new Error("the handler emitted events but this runner has no client to publish them");
      await options.publish(out);
    }
    await work.commit();
    span.setStatus({ code: SpanStatusCode.OK });
    return { ok: true, reply };
  } catch (thrown) {
    const error = toError(thrown);
    await work.abort(error);
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    return { ok: false, error };
  } finally {
    span.end();
  }
}
