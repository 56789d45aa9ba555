// Panic/exception recovery: whatever a handler throws (sync or async, Error or not) becomes an Error
// the runner can classify, and `onError` sees it. Keeps one bad handler from taking the consumer down.
import type { CloudEvent } from "@herald/cloudevents";
import { toError } from "../errors.js";
import type { Middleware } from "../handler.js";

export function recover(options: { onError?: (error: Error, event: CloudEvent) => void } = {}): Middleware {
  return async (event, _ctx, next) => {
    try {
      return await next();
    } catch (thrown) {
      const error = toError(thrown);
      try {
        options.onError?.(error, event);
      } catch {
        // a failing error reporter must not change the outcome
      }
      throw error;
    }
  };
}
