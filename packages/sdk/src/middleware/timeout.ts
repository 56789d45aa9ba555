// Bounds one handler run. The handler's ctx.signal aborts at the deadline so cooperative handlers
// stop; one that ignores the signal keeps running, but its outcome no longer counts.
import { HandlerTimeoutError } from "../errors.js";
import type { Middleware } from "../handler.js";

export function timeout(timeoutMs: number): Middleware {
  return (_event, ctx, next) => {
    const controller = new AbortController();
    const onOuterAbort = (): void => controller.abort(ctx.signal.reason);
    if (ctx.signal.aborted) controller.abort(ctx.signal.reason);
    else ctx.signal.addEventListener("abort", onOuterAbort, { once: true });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new HandlerTimeoutError(timeoutMs);
        controller.abort(error);
        reject(error);
      }, timeoutMs);
      next(undefined, { ...ctx, signal: controller.signal }).then(
        (result) => {
          clearTimeout(timer);
          ctx.signal.removeEventListener("abort", onOuterAbort);
          resolve(result);
        },
        (error: unknown) => {
          clearTimeout(timer);
          ctx.signal.removeEventListener("abort", onOuterAbort);
          reject(error);
        },
      );
    });
  };
}
