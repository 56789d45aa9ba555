// Idempotent consumer: an inbox keyed by source+id. A delivery of an event whose handling already
// committed is acknowledged without running the handler again; a delivery that races one still in
// progress fails retryably (it must not be acked while the first may still fail).
import { DuplicateInProgressError } from "../errors.js";
import type { Middleware } from "../handler.js";
import { type Inbox, inboxKey } from "../inbox/inbox.js";
import { MemoryInbox } from "../inbox/memory-inbox.js";

export interface IdempotentOptions {
  /** Default: a MemoryInbox of this process. */
  readonly inbox?: Inbox;
  /** How long a handled event is remembered (default 24 h). Longer than any redelivery window. */
  readonly ttlMs?: number;
  /** How long an in-progress claim blocks other deliveries if this process dies (default 5 min). */
  readonly leaseMs?: number;
  /** Called when a duplicate is skipped. */
  readonly onDuplicate?: (key: string) => void;
}

export function idempotent(options: IdempotentOptions = {}): Middleware {
  const inbox = options.inbox ?? new MemoryInbox();
  const ttlMs = options.ttlMs ?? 24 * 3_600_000;
  const leaseMs = options.leaseMs ?? 5 * 60_000;
  return async (event, ctx, next) => {
    const key = inboxKey(event);
    const claim = await inbox.claim(key, leaseMs);
    if (claim === "done") {
      options.onDuplicate?.(key);
      return undefined;
    }
    if (claim === "in-progress") throw new DuplicateInProgressError(key);
    // Done only once the runner has published what the handler emitted and acked the event.
    ctx.onCommit(() => inbox.complete(key, ttlMs));
    ctx.onAbort(() => inbox.release(key));
    return next();
  };
}
