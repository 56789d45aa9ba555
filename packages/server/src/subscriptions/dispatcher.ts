// One dispatcher per subscription: the shared log tail feeds its window with matching events
// (catch-up, then live), and it hands ready entries to the push sink or to the pull/streaming
// consumers, under the subscription's ordering and maxInFlight, waking for backoffs and leases.
import type { StoredEvent } from "@herald/log";
import type { DeadLetterReason, DeliveryOutcome } from "@herald/protocol";
import type { Logger } from "pino";
import { Consumers, type Message, type StreamConsumer } from "./consumers.js";
import { indexKeyOf, type IndexKey } from "./filter-index.js";
import type { EventMatcher, FilterSpec } from "./filters.js";
import type { LogTail, TailMember } from "./log-tail.js";
import type { DeliverySettings } from "./model.js";
import { type PushAttempt, PushDelivery } from "./push-delivery.js";
import { type AckResult, type AttemptFailure, DeliveryWindow, type Entry, type EntrySeed } from "./window.js";

export interface DispatcherDeps {
  readonly id: string;
  readonly settings: DeliverySettings;
  readonly filter: FilterSpec;
  readonly matcher: EventMatcher;
  /** Cluster mode: whether a stream belongs to the partition this dispatcher delivers. */
  readonly inPartition?: (stream: string) => boolean;
  readonly tail: LogTail;
  readonly logger: Logger;
  /** Push delivery of one attempt (absent for pull subscriptions). */
  readonly push?: PushAttempt;
  /** Appends the dead letter; the entry leaves the window once it resolves. */
  readonly deadLetter: (entry: Entry, reason: DeadLetterReason) => Promise<void>;
  /** What happened, for the counters and metrics. */
  readonly observe: {
    delivered(entry: Entry, now: number): void;
    retried(): void;
    deadLettered(): void;
    /** One attempt ended (the delivery ledger). */
    attempted(entry: Entry, outcome: DeliveryOutcome, detail: Partial<AttemptFailure>, now: number): void;
  };
  /** A redriven entry finished (acked or dead-lettered again). */
  readonly redriveDone: (version: number) => void;
}

export class Dispatcher implements TailMember {
  readonly id: string;
  readonly indexKey: IndexKey;
  readonly #deps: DispatcherDeps;
  readonly #window: DeliveryWindow;
  readonly #consumers: Consumers;
  readonly #push: PushDelivery | undefined;
  readonly #startAfter: number;
  /** Where the reader was when it stopped (the tail forgets a member that leaves). */
  #stoppedAt: number | undefined;
  #wakeTimer: NodeJS.Timeout | undefined;
  #wakeAt = Number.POSITIVE_INFINITY;
  #started = false;
  #stopped = false;
  #pumping = false;
  #pumpAgain = false;

  constructor(deps: DispatcherDeps, checkpoint: number) {
    this.#deps = deps;
    this.id = deps.id;
    this.indexKey = indexKeyOf(deps.filter);
    this.#startAfter = checkpoint;
    this.#window = new DeliveryWindow(deps.settings, {
      deadLetter: deps.deadLetter,
      deadLettered: (entry, reason, failure) => {
        deps.logger.warn(
          {
            subscription: this.id,
            position: entry.position,
            stream: entry.stream,
            reason,
            attempts: entry.deliveryCount,
            ...(failure.status !== undefined ? { status: failure.status } : {}),
            error: failure.error,
          },
          "event dead-lettered",
        );
        deps.observe.deadLettered();
      },
      deadLetterFailed: (error) =>
        deps.logger.error({ err: error, subscription: this.id }, "dead-letter append failed"),
      delivered: (entry, now) => deps.observe.delivered(entry, now),
      retried: () => deps.observe.retried(),
      attempted: (entry, outcome, detail, now) => deps.observe.attempted(entry, outcome, detail, now),
      released: (_entry, holder) => {
        if (typeof holder === "object") this.#consumers.released(holder);
      },
      redriveDone: deps.redriveDone,
      changed: () => this.#changed(),
    });
    this.#consumers = new Consumers(this.#window);
    if (deps.push !== undefined) this.#push = new PushDelivery(this.#window, deps.push, deps.logger, deps.id);
  }

  get isPush(): boolean {
    return this.#push !== undefined;
  }

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#deps.tail.join(this, this.#startAfter);
  }

  /** Stops dispatching; waits up to drainMs for in-flight pushes, then aborts them. */
  async stop(drainMs = 0): Promise<void> {
    if (this.#stopped) return;
    this.#stoppedAt = this.readUpTo;
    this.#stopped = true;
    this.#deps.tail.leave(this);
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    this.#consumers.closeAll("subscription stopped");
    await this.#push?.drain(drainMs);
  }

  /**
   * Stops for good and drops every lease (a reset): later acks and nacks of its ack ids answer
   * them as unknown, in-flight pushes are aborted and their outcomes ignored (no ack, no retry).
   */
  async revoke(): Promise<void> {
    this.#window.revoke();
    await this.stop(0);
  }

  get isRevoked(): boolean {
    return this.#window.isRevoked;
  }

  /** The low-water mark: every live position ≤ it is acked or dead-lettered. */
  checkpoint(): number {
    return this.#window.checkpoint(this.readUpTo);
  }

  /** Position the reader has passed (events after it are still in the log only). */
  get readUpTo(): number {
    if (this.#stoppedAt !== undefined) return this.#stoppedAt;
    return this.#started ? this.#deps.tail.positionOf(this) : this.#startAfter;
  }

  get pendingCount(): number {
    return this.#window.pendingCount;
  }

  get inFlightCount(): number {
    return this.#window.inFlight;
  }

  // ---------- fed by the tail ----------

  matches(stored: StoredEvent): boolean {
    if (this.#deps.inPartition !== undefined && !this.#deps.inPartition(stored.stream)) return false;
    try {
      return this.#deps.matcher(stored.event);
    } catch (error) {
      this.#deps.logger.warn(
        { err: error, subscription: this.id, position: stored.position },
        "filter failed",
      );
      return false;
    }
  }

  offer(stored: StoredEvent): boolean {
    if (this.#stopped || this.#window.liveCount >= this.#window.limit) return false;
    this.#window.addLive(stored);
    this.#pump();
    return true;
  }

  /** Room for a catch-up batch: half the window, so a slow consumer is not read for event by event. */
  get canCatchUp(): boolean {
    return !this.#stopped && this.#window.liveCount <= this.#window.limit / 2;
  }

  /** Queues redriven dead letters for redelivery (beside the live window). */
  addRedriven(seeds: readonly EntrySeed[]): void {
    this.#window.addRedriven(seeds);
    this.#pump();
  }

  // ---------- consumers ----------

  pull(max: number, waitMs: number, signal?: AbortSignal): Promise<Message[]> {
    if (this.#stopped || signal?.aborted) return Promise.resolve([]);
    const now = Date.now();
    this.#window.expireLeases(now);
    const answer = this.#consumers.pull(max, waitMs, signal, now);
    this.#armWake(now);
    return answer;
  }

  attach(consumer: StreamConsumer): () => void {
    if (this.#stopped) {
      consumer.close("subscription stopped");
      return () => {};
    }
    this.#consumers.attach(consumer);
    this.#pump();
    return () => this.#detach(consumer);
  }

  /** A connection went away: what it held goes back to the others (a failed attempt). */
  #detach(consumer: StreamConsumer): void {
    for (const entry of this.#consumers.detach(consumer)) {
      this.#window.fail(entry, { error: "consumer disconnected" }, 0);
    }
    this.#pump();
  }

  /** Kicks the dispatcher when a back-pressured consumer drained. */
  resume(): void {
    this.#pump();
  }

  ack(ackIds: readonly string[]): AckResult {
    return this.#window.ack(ackIds);
  }

  nack(ackIds: readonly string[], delayMs: number | undefined): AckResult {
    return this.#window.nack(ackIds, delayMs);
  }

  // ---------- handing out ----------

  #changed(): void {
    this.#pump();
    if (this.canCatchUp && this.#deps.tail.isBehind(this)) this.#deps.tail.kick();
  }

  /** Hands ready entries to the sink or to waiting consumers; re-arms the wake-up timer. */
  #pump(): void {
    if (this.#stopped) return;
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    let now = Date.now();
    try {
      do {
        this.#pumpAgain = false;
        now = Date.now();
        this.#window.expireLeases(now);
        if (this.#push) this.#push.handOut(now);
        else this.#consumers.handOut(now);
      } while (this.#pumpAgain && !this.#stopped);
    } finally {
      this.#pumping = false;
    }
    this.#armWake(now);
  }

  /**
   * One timer for the next backoff end or lease expiry after `now` — the instant the last pump
   * judged what was due (timers may fire a little early; an entry not due then needs a timer).
   */
  #armWake(now: number): void {
    if (this.#stopped) return;
    const earliest = this.#window.nextTimer(now);
    if (earliest === undefined || earliest === Number.POSITIVE_INFINITY || earliest >= this.#wakeAt) return;
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    this.#wakeAt = earliest;
    this.#wakeTimer = setTimeout(
      () => {
        this.#wakeTimer = undefined;
        this.#wakeAt = Number.POSITIVE_INFINITY;
        this.#window.timerFired();
        this.#pump();
      },
      Math.max(1, earliest - Date.now()),
    );
    this.#wakeTimer.unref();
  }
}
