// One subscription in a cluster (storage `postgres`): its events are split into partitions by hash of
// the stream, and this instance delivers only the partitions whose lease it holds (the coordinator
// hands them over). Each held partition is an ordinary Dispatcher whose matcher also checks the
// partition, with a checkpoint of its own, so per-stream order, leases and retries work as on one
// instance, and a partition that moves resumes at its own checkpoint (at-least-once: what was
// delivered but not acked before the move is delivered again).
// Consumers see one subscription: pulls take from every held partition, acks find their partition,
// SSE/WebSocket consumers are attached to every held partition (credit applies per partition).
import type { LeaseTarget } from "../cluster/coordinator.js";
import { CheckpointTracker } from "./checkpoints.js";
import type { Message, StreamConsumer } from "./consumers.js";
import type { Dispatcher } from "./dispatcher.js";
import type { AckResult, EntrySeed } from "./window.js";

export interface PartitionHost {
  /** Builds partition k's dispatcher at `checkpoint` (its counters settle `tracker`). */
  create(partition: number, checkpoint: number, tracker: CheckpointTracker): Dispatcher;
  /** The partition's stored checkpoint (or the subscription's start). */
  loadCheckpoint(partition: number): Promise<number>;
  /** Stores the partition's checkpoint. */
  storeCheckpoint(partition: number, position: number): Promise<void>;
  /** The partition's last known stored checkpoint (for partitions delivered elsewhere). */
  storedCheckpoint(partition: number): number;
  /** The redriven dead letters pending in this partition (handed to it when it starts here). */
  redrives(partition: number): Promise<EntrySeed[]>;
  /** Interest appeared (a first consumer): claim partitions now rather than at the next heartbeat. */
  interestChanged(): void;
  onError(error: unknown, partition: number): void;
}

interface Part {
  readonly dispatcher: Dispatcher;
  readonly tracker: CheckpointTracker;
  validUntil: number;
  releasing: boolean;
}

export class PartitionedDispatcher implements LeaseTarget {
  readonly id: string;
  readonly isPush: boolean;
  readonly partitions: number;
  readonly #host: PartitionHost;
  readonly #interestMs: number;
  readonly #parts = new Map<number, Part>();
  readonly #acquiring = new Set<number>();
  /** Streaming consumers, with their detach function per partition. */
  readonly #streams = new Map<StreamConsumer, Map<number, () => void>>();
  readonly #partsChanged = new Set<() => void>();
  #activePulls = 0;
  #lastPullAt = Number.NEGATIVE_INFINITY;
  #stopped = false;
  #revoked = false;

  constructor(options: {
    id: string;
    isPush: boolean;
    partitions: number;
    host: PartitionHost;
    /** How long a pull keeps this instance interested after it ended. */
    interestMs: number;
  }) {
    this.id = options.id;
    this.isPush = options.isPush;
    this.partitions = options.partitions;
    this.#host = options.host;
    this.#interestMs = options.interestMs;
  }

  // ---------- leases (driven by the coordinator) ----------

  interested(now: number): boolean {
    if (this.#stopped) return false;
    if (this.isPush) return true;
    return this.#streams.size > 0 || this.#activePulls > 0 || now - this.#lastPullAt < this.#interestMs;
  }

  owned(): readonly number[] {
    return [...this.#parts.keys()];
  }

  has(partition: number): boolean {
    return this.#parts.has(partition) || this.#acquiring.has(partition);
  }

  acquire(partition: number, validUntil: number): void {
    if (this.#stopped || this.has(partition)) return;
    this.#acquiring.add(partition);
    void (async () => {
      try {
        const checkpoint = await this.#host.loadCheckpoint(partition);
        if (this.#stopped || Date.now() >= validUntil || !this.#acquiring.has(partition)) return;
        const tracker = new CheckpointTracker(checkpoint, Date.now());
        const dispatcher = this.#host.create(partition, checkpoint, tracker);
        this.#parts.set(partition, { dispatcher, tracker, validUntil, releasing: false });
        dispatcher.start();
        for (const [consumer, detaches] of this.#streams)
          detaches.set(partition, dispatcher.attach(consumer));
        for (const wake of [...this.#partsChanged]) wake();
        const redriven = await this.#host.redrives(partition);
        if (redriven.length > 0 && this.#parts.get(partition)?.dispatcher === dispatcher)
          dispatcher.addRedriven(redriven);
      } catch (error) {
        this.#host.onError(error, partition);
      } finally {
        this.#acquiring.delete(partition);
      }
    })();
  }

  renew(partition: number, validUntil: number): void {
    const part = this.#parts.get(partition);
    if (part !== undefined) part.validUntil = Math.max(part.validUntil, validUntil);
  }

  async release(partition: number): Promise<void> {
    const part = this.#parts.get(partition);
    if (part === undefined || part.releasing) return;
    part.releasing = true;
    this.#detachAll(partition);
    // In-flight pushes finish (their acks still find the partition); then its progress is stored.
    await part.dispatcher.stop(Math.min(2_000, Math.max(0, part.validUntil - Date.now() - 100)));
    if (this.#parts.get(partition) === part) {
      const position = part.dispatcher.checkpoint();
      part.tracker.stored(position, Date.now());
      await this.#host.storeCheckpoint(partition, position);
      this.#parts.delete(partition);
    }
  }

  lose(partition: number): void {
    this.#acquiring.delete(partition);
    const part = this.#parts.get(partition);
    if (part === undefined) return;
    this.#parts.delete(partition);
    this.#detachAll(partition);
    void part.dispatcher.revoke();
  }

  expire(now: number): void {
    for (const [partition, part] of this.#parts) if (part.validUntil <= now) this.lose(partition);
  }

  /** Every held partition with its checkpoint tracker (the manager's flush stores them). */
  held(): ReadonlyArray<{ partition: number; dispatcher: Dispatcher; tracker: CheckpointTracker }> {
    return [...this.#parts].map(([partition, part]) => ({ partition, ...part }));
  }

  // ---------- the Dispatcher surface the manager uses ----------

  start(): void {}

  async stop(drainMs = 0): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const wake of [...this.#partsChanged]) wake();
    for (const consumer of [...this.#streams.keys()]) consumer.close("subscription stopped");
    this.#streams.clear();
    // The parts stay listed: the manager's last flush stores their checkpoints.
    await Promise.all([...this.#parts.values()].map((part) => part.dispatcher.stop(drainMs)));
  }

  async revoke(): Promise<void> {
    this.#revoked = true;
    await Promise.all([...this.#parts.values()].map((part) => part.dispatcher.revoke()));
    await this.stop(0);
  }

  get isRevoked(): boolean {
    return this.#revoked;
  }

  /** Low-water mark over every partition: held ones from memory, the others as last stored. */
  checkpoint(): number {
    let low = Number.POSITIVE_INFINITY;
    for (let k = 0; k < this.partitions; k++) {
      const part = this.#parts.get(k);
      low = Math.min(low, part !== undefined ? part.dispatcher.checkpoint() : this.#host.storedCheckpoint(k));
    }
    return low;
  }

  get readUpTo(): number {
    let low = Number.POSITIVE_INFINITY;
    for (const part of this.#parts.values()) low = Math.min(low, part.dispatcher.readUpTo);
    return low === Number.POSITIVE_INFINITY ? this.checkpoint() : low;
  }

  get pendingCount(): number {
    let sum = 0;
    for (const part of this.#parts.values()) sum += part.dispatcher.pendingCount;
    return sum;
  }

  get inFlightCount(): number {
    let sum = 0;
    for (const part of this.#parts.values()) sum += part.dispatcher.inFlightCount;
    return sum;
  }

  ack(ackIds: readonly string[]): AckResult {
    return this.#route(ackIds, (dispatcher, ids) => dispatcher.ack(ids));
  }

  nack(ackIds: readonly string[], delayMs: number | undefined): AckResult {
    return this.#route(ackIds, (dispatcher, ids) => dispatcher.nack(ids, delayMs));
  }

  resume(): void {
    for (const part of this.#parts.values()) part.dispatcher.resume();
  }

  attach(consumer: StreamConsumer): () => void {
    if (this.#stopped) {
      consumer.close("subscription stopped");
      return () => {};
    }
    const detaches = new Map<number, () => void>();
    this.#streams.set(consumer, detaches);
    for (const [partition, part] of this.#parts)
      if (!part.releasing) detaches.set(partition, part.dispatcher.attach(consumer));
    if (this.#streams.size === 1) this.#host.interestChanged();
    return () => {
      const current = this.#streams.get(consumer);
      if (current === undefined) return;
      this.#streams.delete(consumer);
      for (const detach of current.values()) detach();
    };
  }

  /** Long-poll over every held partition; waits for partitions when none is held here yet. */
  async pull(max: number, waitMs: number, signal?: AbortSignal): Promise<Message[]> {
    const deadline = Date.now() + waitMs;
    const first = this.#activePulls === 0 && Date.now() - this.#lastPullAt >= this.#interestMs;
    this.#activePulls++;
    if (first) this.#host.interestChanged();
    try {
      for (;;) {
        if (this.#stopped || signal?.aborted) return [];
        const parts = [...this.#parts.values()].filter((part) => !part.releasing);
        // Rotate the start so no partition starves the others.
        const offset = parts.length > 0 ? Math.floor(Math.random() * parts.length) : 0;
        const taken: Message[] = [];
        for (let i = 0; i < parts.length && taken.length < max; i++) {
          const part = parts[(i + offset) % parts.length]!;
          taken.push(...(await part.dispatcher.pull(max - taken.length, 0)));
        }
        const remaining = deadline - Date.now();
        if (taken.length > 0 || remaining <= 0) return taken;
        const waited = await this.#waitAny(parts, max, remaining, signal);
        if (waited.length > 0) return waited;
      }
    } finally {
      this.#activePulls--;
      this.#lastPullAt = Date.now();
    }
  }

  /** Waits on every partition at once until one answers, the partitions change or time runs out. */
  async #waitAny(
    parts: readonly Part[],
    max: number,
    waitMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Message[]> {
    const stop = new AbortController();
    const abort = () => stop.abort();
    signal?.addEventListener("abort", abort);
    this.#partsChanged.add(abort);
    const timer = setTimeout(abort, waitMs);
    try {
      const pulls = parts.map((part) => part.dispatcher.pull(max, waitMs, stop.signal));
      const aborted = new Promise<void>((resolve) => stop.signal.addEventListener("abort", () => resolve()));
      await Promise.race([aborted, ...pulls]);
      stop.abort();
      // Every other pull answers empty once aborted, unless it was served in the same turn: keep
      // up to `max` and hand the rest straight back.
      const all = (await Promise.all(pulls)).flat();
      const extra = all.slice(max);
      if (extra.length > 0)
        this.nack(
          extra.map((m) => m.ackId),
          0,
        );
      return all.slice(0, max);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
      this.#partsChanged.delete(abort);
    }
  }

  #route(
    ackIds: readonly string[],
    apply: (dispatcher: Dispatcher, ids: readonly string[]) => AckResult,
  ): AckResult {
    let pending = ackIds;
    let done = 0;
    for (const part of this.#parts.values()) {
      if (pending.length === 0) break;
      const result = apply(part.dispatcher, pending);
      done += result.done;
      pending = result.unknown;
    }
    return { done, unknown: pending };
  }

  #detachAll(partition: number): void {
    for (const detaches of this.#streams.values()) {
      detaches.get(partition)?.();
      detaches.delete(partition);
    }
  }
}
