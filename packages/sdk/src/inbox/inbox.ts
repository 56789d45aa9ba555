// The idempotent consumer's inbox: remembers which events (by source+id) were handled, for a TTL.
// A claim marks an event "in progress" for a lease, so two concurrent deliveries do not both run.

export type ClaimResult = "claimed" | "done" | "in-progress";

export interface Inbox {
  /** Tries to take `key` for handling; `leaseMs` bounds how long a crashed holder blocks others. */
  claim(key: string, leaseMs: number): Promise<ClaimResult>;
  /** The handling committed: remember `key` as done for `ttlMs`. */
  complete(key: string, ttlMs: number): Promise<void>;
  /** The handling failed: forget the claim so a redelivery can run. */
  release(key: string): Promise<void>;
  close?(): void | Promise<void>;
}

/** The inbox key of an event: its identity in CloudEvents terms. */
export function inboxKey(event: { readonly source: string; readonly id: string }): string {
  return `${event.source}\u0000${event.id}`;
}
