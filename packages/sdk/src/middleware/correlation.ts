// Correlation: every event a handler emits carries `causationid` = the handled event's id and
// `correlationid` = the handled event's correlationid (or its id when it starts a conversation).
import { CloudEvent } from "@herald/cloudevents";
import type { Middleware, OutgoingEvent } from "../handler.js";

export function correlationOf(event: CloudEvent): string {
  const id = event["correlationid"];
  return typeof id === "string" && id !== "" ? id : event.id;
}

export function correlation(): Middleware {
  return (event, ctx, next) => {
    const correlationid = correlationOf(event);
    const stamp = (out: OutgoingEvent): OutgoingEvent => {
      const patch: Record<string, string> = {};
      if (out["causationid"] === undefined) patch["causationid"] = event.id;
      if (out["correlationid"] === undefined) patch["correlationid"] = correlationid;
      if (Object.keys(patch).length === 0) return out;
      return out instanceof CloudEvent ? out.cloneWith(patch) : { ...out, ...patch };
    };
    return next(undefined, { ...ctx, emit: (out) => ctx.emit(stamp(out)) });
  };
}
