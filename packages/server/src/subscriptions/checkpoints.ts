// When a subscription's checkpoint is worth storing. A checkpoint that moved because events were
// acked or dead-lettered is stored at the next flush (a restart would otherwise deliver them again).
// One that moved only because the tail passed events the subscription does not match is stored at
// most every `idleMs`, and at most `idleBatch` of those per flush: with thousands of idle
// subscriptions every commit moves every checkpoint, and storing them all each flush would cost
// more than the events themselves. Losing that progress costs a restart only a rescan, never a
// redelivery.

/** Per subscription: what was stored, when, and whether deliveries settled since. */
export class CheckpointTracker {
  #saved: number;
  #savedAt: number;
  #settled = false;

  constructor(saved: number, now: number) {
    this.#saved = saved;
    this.#savedAt = now;
  }

  /** An event was acked or dead-lettered. */
  settled(): void {
    this.#settled = true;
  }

  /**
   * How `current` stands against what was stored: undefined when it did not move; "urgent" when
   * deliveries settled since; "stale" when it moved idly and has not been stored for `idleMs`;
   * "fresh" when it moved idly more recently (stored on shutdown only).
   */
  due(current: number, now: number, idleMs: number): "urgent" | "stale" | "fresh" | undefined {
    if (current === this.#saved) {
      this.#settled = false;
      return undefined;
    }
    if (this.#settled) return "urgent";
    return now - this.#savedAt >= idleMs ? "stale" : "fresh";
  }

  /** `position` is being stored. */
  stored(position: number, now: number): void {
    this.#saved = position;
    this.#savedAt = now;
    this.#settled = false;
  }
}

export interface CheckpointPolicy {
  /** How long idle progress may go unstored. */
  readonly idleMs: number;
  /** Most idle checkpoints stored per flush. */
  readonly idleBatch: number;
}

export const DEFAULT_CHECKPOINT_POLICY: CheckpointPolicy = { idleMs: 10_000, idleBatch: 256 };
