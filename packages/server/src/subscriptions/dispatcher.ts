// One dispatcher per subscription: reads the log from the checkpoint (catch-up + live), keeps a
// bounded window of pending events and hands them out — to the push sink, to pull requests and to
// streaming (SSE/WebSocket) consumers — under the subscription's ordering and maxInFlight.
//
// Every pending event is in exactly one state: `ready` (waiting for a consumer, maybe until
// `readyAt` after a failed attempt), `leased` (delivered, awaiting ack/nack/timeout) or `dying`
// (being appended to the dead-letter stream). The checkpoint is the low-water mark: every live
// position ≤ it is acked or dead-lettered. Redriven dead letters sit beside the live window and
// never move the checkpoint.
import { randomUUID } from "node:crypto";
import type { CloudEvent } from "@herald/cloudevents";
import type { EventLog, LogSubscription, StoredEvent } from "@herald/log";
import { backoffDelay } from "@herald/protocol";
import type { Logger } from "pino";
import { SinkHealth } from "../observability/sink-health.js";
import type { EventMatcher } from "./filters.js";
import type { SubscriptionMetrics } from "./metrics.js";
import { PushCancel } from "./push-cancel.js";
import type { DeliverySettings } from "./model.js";

/** Why a delivery failed: the dead letter records the last one. */
export interface AttemptFailure {
  readonly status?: number;
  readonly error: string;
}

export interface Entry {
  readonly position: number;
  readonly stream: string;
  /** The event in the JSON event format, exactly as stored. */
  readonly json: string;
  readonly recordedAt: number;
  /** Dead-letter stream version when this entry is a redrive. */
  readonly redrive: number | undefined;
  readonly event: () => CloudEvent;
  /** Creation order: live entries in position order, redriven ones in the order they were queued. */
  readonly seq: number;
  state: "ready" | "leased" | "dying";
  readyAt: number;
  deliveryCount: number;
  ackId: string | undefined;
  leaseExpiresAt: number;
  holder: Holder | undefined;
  firstAttemptAt: number | undefined;
  lastAttemptAt: number | undefined;
  lastFailure: AttemptFailure | undefined;
}

/** What a consumer receives. */
export interface Message {
  readonly ackId: string;
  readonly deliveryCount: number;
  readonly position: number;
  readonly stream: string;
  /** Event JSON, spliced as is into answers. */
  readonly eventJson: string;
}

export function messageJson(message: Message): string {
  return `{"ackId":${JSON.stringify(message.ackId)},"deliveryCount":${message.deliveryCount},"position":${message.position},"stream":${JSON.stringify(message.stream)},"event":${message.eventJson}}`;
}

/** A long-lived consumer (SSE or WebSocket connection). */
export interface StreamConsumer {
  /** Max unacked messages this consumer holds at once. */
  readonly credit: number;
  /** Auto-ack: the message counts as acked once written. */
  readonly autoAck: boolean;
  /** False while the connection is back-pressured. */
  writable(): boolean;
  send(message: Message): void;
  /** The dispatcher stops (update, delete, shutdown): end the connection. */
  close(reason: string): void;
}

type Holder = "push" | "pull" | StreamConsumer;

export type PushOutcome =
  | { readonly kind: "ack"; readonly status: number }
  | { readonly kind: "retry"; readonly failure: AttemptFailure; readonly retryAfterMs?: number }
  | { readonly kind: "reject"; readonly failure: AttemptFailure };

export interface DispatcherDeps {
  readonly id: string;
  readonly settings: DeliverySettings;
  readonly matcher: EventMatcher;
  readonly log: EventLog;
  readonly metrics: SubscriptionMetrics;
  readonly logger: Logger;
  /** Counters for the stats endpoint (the Prometheus ones are in `metrics`). */
  readonly events: { delivered(): void; retried(): void; deadLettered(): void };
  /** Push delivery of one attempt (absent for pull subscriptions). Never throws. */
  readonly push?: (entry: Entry, cancel: PushCancel) => Promise<PushOutcome>;
  /** Appends the dead letter; the entry leaves the window once it resolves. */
  readonly deadLetter: (entry: Entry, reason: "max-deliveries" | "rejected") => Promise<void>;
  /** A redriven entry finished (acked or dead-lettered again). */
  readonly redriveDone: (version: number) => void;
}

interface Waiter {
  readonly max: number;
  readonly resolve: (messages: Message[]) => void;
  readonly timer: NodeJS.Timeout;
}

export interface AckResult {
  readonly done: number;
  readonly unknown: readonly string[];
}

const READ_RETRY_MS = 1000;

export class Dispatcher {
  readonly id: string;
  private readonly deps: DispatcherDeps;
  private readonly settings: DeliverySettings;
  /** Live window, in position order (Map keeps insertion order; reads come in order). */
  private readonly live = new Map<number, Entry>();
  private readonly redriven = new Map<number, Entry>();
  /**
   * Entries in state "ready" (ordering other than "key"), redriven and live apart, so handing out
   * does not walk the whole window past leased entries on every pump (O(window) per event once
   * maxInFlight is reached: 3.8 % of the server's CPU while draining a backlog). Kept in `seq`
   * order — the order of the maps above.
   */
  private readonly readyRedriven = new Set<Entry>();
  private readonly readyLive = new Set<Entry>();
  /** An entry became ready again (after a failure): the sets need sorting back into `seq` order. */
  private readyUnsorted = false;
  /** Per-stream FIFO (ordering "key" only). */
  private readonly queues = new Map<string, Entry[]>();
  private readonly byAckId = new Map<string, Entry>();
  private readonly waiters: Waiter[] = [];
  private readonly streams = new Set<StreamConsumer>();
  private readonly streamHeld = new Map<StreamConsumer, number>();
  private readonly pushes = new Map<Entry, PushCancel>();
  /** Push only: failing spells of the sink, for the logs. */
  private readonly sinkHealth: SinkHealth | undefined;
  /** stop() waiting for in-flight pushes to settle. */
  private readonly settleWaiters = new Map<Entry, () => void>();
  private readonly bufferLimit: number;
  private inFlight = 0;
  private readPosition: number;
  private savedCheckpoint: number;
  private subscription: LogSubscription | undefined;
  private spaceFreed: (() => void) | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  /** Set when a lease or backoff was added since the last armWake scan. */
  private timersChanged = false;
  private nextLeaseExpiry = Number.POSITIVE_INFINITY;
  private stopped = false;
  /** Set by revoke(): outstanding ack ids mean nothing any more. */
  private revoked = false;
  private reading: Promise<void> | undefined;
  private pumping = false;
  private pumpAgain = false;

  constructor(deps: DispatcherDeps, checkpoint: number) {
    this.deps = deps;
    this.id = deps.id;
    this.settings = deps.settings;
    this.readPosition = checkpoint;
    this.savedCheckpoint = checkpoint;
    this.bufferLimit = Math.min(10_000, Math.max(256, deps.settings.maxInFlight * 4));
    if (deps.push !== undefined)
      this.sinkHealth = new SinkHealth({ logger: deps.logger, subscription: deps.id });
  }

  get isPush(): boolean {
    return this.deps.push !== undefined;
  }

  start(): void {
    this.reading = this.readUntilStopped();
  }

  /** A failing read (e.g. a transient storage error) is retried from where the reader got to. */
  private async readUntilStopped(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.readLoop();
      } catch (error) {
        if (this.stopped) return;
        this.deps.logger.error({ err: error, subscription: this.id }, "subscription reader failed; retrying");
      }
      if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS).unref());
    }
  }

  /** Stops dispatching; waits up to drainMs for in-flight pushes, then aborts them. */
  async stop(drainMs = 0): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.subscription?.close();
    this.spaceFreed?.();
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.resolve([]);
    }
    for (const consumer of [...this.streams]) consumer.close("subscription stopped");
    this.streams.clear();
    if (this.pushes.size > 0) {
      const settled = Promise.allSettled([...this.pushes.keys()].map((e) => this.settledPush(e)));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([settled, new Promise((r) => (timer = setTimeout(r, drainMs)))]);
      clearTimeout(timer);
      for (const cancel of this.pushes.values()) cancel.abort();
      await settled;
    }
    // The reader ends once the log subscription is closed; do not hang on a backend that is slow to.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.reading, new Promise((r) => (timer = setTimeout(r, 100)))]);
    clearTimeout(timer);
  }

  /**
   * Stops for good and drops every lease (a reset): later acks and nacks of its ack ids answer
   * them as unknown, in-flight pushes are aborted and their outcomes ignored (no ack, no retry).
   */
  async revoke(): Promise<void> {
    this.revoked = true;
    await this.stop(0);
  }

  get isRevoked(): boolean {
    return this.revoked;
  }

  /** The low-water mark: every live position ≤ it is acked or dead-lettered. */
  checkpoint(): number {
    for (const position of this.live.keys()) return position - 1;
    return this.readPosition;
  }

  /** The checkpoint when it moved since the last call (for batched persistence). */
  takeCheckpoint(): number | undefined {
    const checkpoint = this.checkpoint();
    if (checkpoint === this.savedCheckpoint) return undefined;
    this.savedCheckpoint = checkpoint;
    return checkpoint;
  }

  /** Position the reader has passed (events after it are still in the log only). */
  get readUpTo(): number {
    return this.readPosition;
  }

  get pendingCount(): number {
    return this.live.size + this.redriven.size;
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  // ---------- reading ----------

  private async readLoop(): Promise<void> {
    const subscription = this.deps.log.subscribe({ after: this.readPosition });
    this.subscription = subscription;
    if (this.stopped) subscription.close();
    for await (const stored of subscription) {
      if (this.stopped) break;
      if (this.matches(stored)) this.addLive(stored);
      this.readPosition = stored.position;
      while (this.live.size >= this.bufferLimit && !this.stopped) {
        await new Promise<void>((resolve) => (this.spaceFreed = resolve));
      }
    }
  }

  private matches(stored: StoredEvent): boolean {
    // System streams ($deadletter-…) never feed subscriptions: no loops.
    if (stored.stream.startsWith("$")) return false;
    try {
      return this.deps.matcher(stored.event);
    } catch (error) {
      this.deps.logger.warn(
        { err: error, subscription: this.id, position: stored.position },
        "filter failed",
      );
      return false;
    }
  }

  private addLive(stored: StoredEvent): void {
    const entry = newEntry(
      stored.position,
      stored.stream,
      stored.json,
      stored.recordedAt,
      undefined,
      () => stored.event,
    );
    this.live.set(entry.position, entry);
    // Fresh entries come in position order: appending keeps the set sorted.
    if (this.settings.ordering !== "key") this.readyLive.add(entry);
    this.enqueue(entry);
    this.pump();
  }

  /** Queues redriven dead letters for redelivery (beside the live window). */
  addRedriven(entries: readonly EntrySeed[]): void {
    for (const base of entries) {
      if (base.redrive === undefined || this.redriven.has(base.redrive)) continue;
      const entry = newEntry(
        base.position,
        base.stream,
        base.json,
        base.recordedAt,
        base.redrive,
        base.event,
      );
      this.redriven.set(base.redrive, entry);
      this.markReady(entry);
      this.enqueue(entry);
    }
    this.pump();
  }

  private enqueue(entry: Entry): void {
    if (this.settings.ordering !== "key") return;
    const queue = this.queues.get(entry.stream);
    if (!queue) {
      this.queues.set(entry.stream, [entry]);
      return;
    }
    // Redriven entries are older than live ones: keep each stream's queue in position order.
    let i = queue.length;
    while (i > 0 && queue[i - 1]!.position > entry.position) i--;
    queue.splice(i, 0, entry);
  }

  // ---------- handing out ----------

  /** Ready entries a consumer may take now, in position order, at most `limit`. */
  private eligible(now: number, limit: number): Entry[] {
    const out: Entry[] = [];
    if (limit <= 0) return out;
    const due = (e: Entry) => e.state === "ready" && e.readyAt <= now;
    if (this.settings.ordering === "key") {
      for (const queue of this.queues.values()) {
        const head = queue[0];
        if (head && due(head)) out.push(head);
      }
      out.sort((a, b) => a.position - b.position);
      return out.length > limit ? out.slice(0, limit) : out;
    }
    if (this.readyUnsorted) {
      sortBySeq(this.readyRedriven);
      sortBySeq(this.readyLive);
      this.readyUnsorted = false;
    }
    for (const set of [this.readyRedriven, this.readyLive]) {
      for (const entry of set) {
        if (!due(entry)) continue;
        out.push(entry);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  /** The entry is (again) waiting for a consumer. */
  private markReady(entry: Entry): void {
    if (this.settings.ordering === "key") return;
    const set = entry.redrive === undefined ? this.readyLive : this.readyRedriven;
    if (set.has(entry)) return;
    set.add(entry);
    this.readyUnsorted = true;
  }

  private unmarkReady(entry: Entry): void {
    if (entry.redrive === undefined) this.readyLive.delete(entry);
    else this.readyRedriven.delete(entry);
  }

  private lease(entry: Entry, holder: Holder, now: number): Message {
    this.unmarkReady(entry);
    entry.state = "leased";
    entry.holder = holder;
    entry.deliveryCount++;
    entry.ackId = randomUUID();
    entry.leaseExpiresAt = holder === "push" ? Number.POSITIVE_INFINITY : now + this.settings.ackTimeoutMs;
    if (holder !== "push") {
      this.nextLeaseExpiry = Math.min(this.nextLeaseExpiry, entry.leaseExpiresAt);
      this.timersChanged = true;
    }
    entry.firstAttemptAt ??= now;
    entry.lastAttemptAt = now;
    this.byAckId.set(entry.ackId, entry);
    this.inFlight++;
    if (typeof holder === "object") this.streamHeld.set(holder, (this.streamHeld.get(holder) ?? 0) + 1);
    if (entry.deliveryCount > 1) {
      this.deps.metrics.retried.inc({ subscription: this.id });
      this.deps.events.retried();
    }
    return {
      ackId: entry.ackId,
      deliveryCount: entry.deliveryCount,
      position: entry.position,
      stream: entry.stream,
      eventJson: entry.json,
    };
  }

  /** Hands ready entries to the sink or to waiting consumers; re-arms the wake-up timer. */
  private pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    let now = Date.now();
    try {
      do {
        this.pumpAgain = false;
        now = Date.now();
        this.pumpOnce(now);
      } while (this.pumpAgain && !this.stopped);
    } finally {
      this.pumping = false;
    }
    this.armWake(now);
  }

  private pumpOnce(now: number): void {
    this.expireLeases(now);
    let capacity = this.settings.maxInFlight - this.inFlight;
    if (capacity <= 0) return;
    if (this.deps.push) {
      for (const entry of this.eligible(now, capacity)) this.startPush(entry, now);
      return;
    }
    if (this.waiters.length === 0 && this.streams.size === 0) return;
    const candidates = this.eligible(now, capacity);
    let next = 0;
    while (next < candidates.length && this.waiters.length > 0) {
      const waiter = this.waiters.shift()!;
      clearTimeout(waiter.timer);
      const batch = candidates.slice(next, next + waiter.max);
      next += batch.length;
      waiter.resolve(batch.map((entry) => this.lease(entry, "pull", now)));
    }
    capacity -= next;
    // Streaming consumers round-robin, one message per turn, within each one's credit.
    let progressed = true;
    while (next < candidates.length && capacity > 0 && progressed) {
      progressed = false;
      for (const consumer of this.streams) {
        if (next >= candidates.length || capacity <= 0) break;
        if ((this.streamHeld.get(consumer) ?? 0) >= consumer.credit || !consumer.writable()) continue;
        const entry = candidates[next++]!;
        capacity--;
        progressed = true;
        const message = this.lease(entry, consumer, now);
        consumer.send(message);
        if (consumer.autoAck) this.ack([message.ackId]);
      }
    }
  }

  private expireLeases(now: number): void {
    // Leases only ever expire after the earliest one known: skip the scan until then.
    if (now < this.nextLeaseExpiry) return;
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.byAckId.values()) {
      if (entry.state !== "leased") continue;
      if (entry.leaseExpiresAt <= now) {
        this.fail(entry, { error: `not acknowledged within ${this.settings.ackTimeoutMs} ms` });
      } else {
        next = Math.min(next, entry.leaseExpiresAt);
      }
    }
    this.nextLeaseExpiry = next;
  }

  /**
   * One timer for the next backoff end or lease expiry after `now` — the instant the last pump
   * judged what was due (timers may fire a little early; an entry not due then needs a timer).
   */
  private armWake(now: number): void {
    // Only new leases, backoffs and fired timers can need an earlier wake-up than the one armed.
    if (this.stopped || !this.timersChanged) return;
    this.timersChanged = false;
    let earliest = Number.POSITIVE_INFINITY;
    for (const map of [this.live, this.redriven]) {
      for (const entry of map.values()) {
        if (entry.state === "ready" && entry.readyAt > now) earliest = Math.min(earliest, entry.readyAt);
        else if (entry.state === "leased") earliest = Math.min(earliest, entry.leaseExpiresAt);
      }
    }
    if (earliest === Number.POSITIVE_INFINITY || earliest >= this.wakeAt) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeAt = earliest;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wakeAt = Number.POSITIVE_INFINITY;
        this.timersChanged = true;
        this.pump();
      },
      Math.max(1, earliest - Date.now()),
    );
    this.wakeTimer.unref();
  }

  // ---------- push ----------

  private startPush(entry: Entry, now: number): void {
    this.lease(entry, "push", now);
    const cancel = new PushCancel();
    this.pushes.set(entry, cancel);
    void this.deps.push!(entry, cancel).then(
      (outcome) => this.finishPush(entry, outcome),
      (error: unknown) => this.finishPush(entry, { kind: "retry", failure: { error: String(error) } }),
    );
  }

  private finishPush(entry: Entry, outcome: PushOutcome): void {
    this.pushes.delete(entry);
    this.settleWaiters.get(entry)?.();
    this.settleWaiters.delete(entry);
    if (this.revoked || entry.state !== "leased" || entry.ackId === undefined) return;
    if (outcome.kind === "retry") this.sinkHealth?.failed(outcome.failure);
    else this.sinkHealth?.succeeded();
    if (outcome.kind === "ack") this.ack([entry.ackId]);
    else if (outcome.kind === "reject") this.kill(entry, "rejected", outcome.failure);
    else this.fail(entry, outcome.failure, outcome.retryAfterMs);
  }

  private settledPush(entry: Entry): Promise<void> {
    return new Promise((resolve) => this.settleWaiters.set(entry, resolve));
  }

  // ---------- consumers ----------

  /** Long-poll: up to `max` messages, waiting up to `waitMs` for the first. */
  pull(max: number, waitMs: number, signal?: AbortSignal): Promise<Message[]> {
    if (this.stopped || signal?.aborted) return Promise.resolve([]);
    const now = Date.now();
    this.expireLeases(now);
    const capacity = this.settings.maxInFlight - this.inFlight;
    const ready = this.eligible(now, Math.min(max, capacity));
    if (ready.length > 0 || waitMs <= 0) {
      const messages = ready.map((entry) => this.lease(entry, "pull", now));
      this.armWake(now);
      return Promise.resolve(messages);
    }
    return new Promise((resolve) => {
      const giveUp = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        clearTimeout(waiter.timer);
        signal?.removeEventListener("abort", giveUp);
        resolve([]);
      };
      const waiter: Waiter = {
        max,
        resolve: (messages) => {
          signal?.removeEventListener("abort", giveUp);
          resolve(messages);
        },
        timer: setTimeout(giveUp, waitMs),
      };
      signal?.addEventListener("abort", giveUp);
      this.waiters.push(waiter);
      this.armWake(now);
    });
  }

  attach(consumer: StreamConsumer): () => void {
    if (this.stopped) {
      consumer.close("subscription stopped");
      return () => {};
    }
    this.streams.add(consumer);
    this.streamHeld.set(consumer, 0);
    this.pump();
    return () => this.detach(consumer);
  }

  /** A connection went away: what it held goes back to the others (a failed attempt). */
  private detach(consumer: StreamConsumer): void {
    if (!this.streams.delete(consumer)) return;
    for (const entry of [...this.byAckId.values()]) {
      if (entry.holder === consumer) this.fail(entry, { error: "consumer disconnected" }, 0);
    }
    this.streamHeld.delete(consumer);
    this.pump();
  }

  /** Kicks the dispatcher when a back-pressured consumer drained. */
  resume(): void {
    this.pump();
  }

  ack(ackIds: readonly string[]): AckResult {
    if (this.revoked) return { done: 0, unknown: [...ackIds] };
    const unknown: string[] = [];
    let done = 0;
    const now = Date.now();
    for (const ackId of ackIds) {
      const entry = this.byAckId.get(ackId);
      if (entry?.state !== "leased") {
        unknown.push(ackId);
        continue;
      }
      this.release(entry);
      this.remove(entry);
      this.deps.metrics.delivered.inc({ subscription: this.id });
      this.deps.events.delivered();
      this.deps.metrics.latency.observe(
        { subscription: this.id },
        Math.max(0, now - entry.recordedAt) / 1000,
      );
      done++;
    }
    if (done > 0) this.pump();
    return { done, unknown };
  }

  nack(ackIds: readonly string[], delayMs: number | undefined): AckResult {
    if (this.revoked) return { done: 0, unknown: [...ackIds] };
    const unknown: string[] = [];
    let done = 0;
    for (const ackId of ackIds) {
      const entry = this.byAckId.get(ackId);
      if (entry?.state !== "leased") {
        unknown.push(ackId);
        continue;
      }
      this.fail(entry, { error: "negatively acknowledged" }, delayMs);
      done++;
    }
    if (done > 0) this.pump();
    return { done, unknown };
  }

  // ---------- outcomes ----------

  /** A failed attempt: back off and retry, or dead-letter once maxDeliveries is used up. */
  private fail(entry: Entry, failure: AttemptFailure, delayMs?: number): void {
    this.release(entry);
    entry.lastFailure = failure;
    if (entry.deliveryCount >= this.settings.maxDeliveries) {
      this.kill(entry, "max-deliveries", failure);
      return;
    }
    entry.state = "ready";
    entry.readyAt = Date.now() + (delayMs ?? backoffDelay(entry.deliveryCount, this.settings.backoff));
    this.markReady(entry);
    this.timersChanged = true;
    if (!this.pumping) this.pump();
  }

  private kill(entry: Entry, reason: "max-deliveries" | "rejected", failure: AttemptFailure): void {
    if (entry.state === "leased") this.release(entry);
    entry.lastFailure = failure;
    entry.state = "dying";
    this.unmarkReady(entry);
    this.deps.deadLetter(entry, reason).then(
      () => {
        this.deps.logger.warn(
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
        this.deps.metrics.deadLettered.inc({ subscription: this.id });
        this.deps.events.deadLettered();
        this.remove(entry);
        this.pump();
      },
      (error: unknown) => {
        // The event stays pending and is tried again later: it is never dropped.
        this.deps.logger.error({ err: error, subscription: this.id }, "dead-letter append failed");
        entry.state = "ready";
        entry.readyAt = Date.now() + this.settings.backoff.capMs;
        this.markReady(entry);
        this.timersChanged = true;
        this.pump();
      },
    );
  }

  /** Ends the entry's lease (after ack, nack, timeout or push outcome). */
  private release(entry: Entry): void {
    if (entry.ackId !== undefined) this.byAckId.delete(entry.ackId);
    entry.ackId = undefined;
    if (entry.state === "leased") this.inFlight--;
    if (entry.holder !== undefined && typeof entry.holder === "object") {
      const held = this.streamHeld.get(entry.holder);
      if (held !== undefined) this.streamHeld.set(entry.holder, held - 1);
    }
    entry.holder = undefined;
    entry.state = "ready";
  }

  private remove(entry: Entry): void {
    this.unmarkReady(entry);
    if (entry.redrive !== undefined) {
      this.redriven.delete(entry.redrive);
      this.deps.redriveDone(entry.redrive);
    } else {
      this.live.delete(entry.position);
    }
    if (this.settings.ordering === "key") {
      const queue = this.queues.get(entry.stream);
      if (queue) {
        const i = queue.indexOf(entry);
        if (i >= 0) queue.splice(i, 1);
        if (queue.length === 0) this.queues.delete(entry.stream);
      }
    }
    if (this.live.size < this.bufferLimit && this.spaceFreed) {
      const resolve = this.spaceFreed;
      this.spaceFreed = undefined;
      resolve();
    }
  }
}

/** The immutable part of an entry (what a redrive supplies). */
export type EntrySeed = Pick<Entry, "position" | "stream" | "json" | "recordedAt" | "redrive" | "event">;

let nextSeq = 0;

/** Re-inserts a set's entries in `seq` order (a Set iterates in insertion order). */
function sortBySeq(set: Set<Entry>): void {
  if (set.size < 2) return;
  const sorted = [...set].sort((a, b) => a.seq - b.seq);
  set.clear();
  for (const entry of sorted) set.add(entry);
}

function newEntry(
  position: number,
  stream: string,
  json: string,
  recordedAt: number,
  redrive: number | undefined,
  event: () => CloudEvent,
): Entry {
  return {
    position,
    stream,
    json,
    recordedAt,
    redrive,
    event,
    seq: nextSeq++,
    state: "ready",
    readyAt: 0,
    deliveryCount: 0,
    ackId: undefined,
    leaseExpiresAt: 0,
    holder: undefined,
    firstAttemptAt: undefined,
    lastAttemptAt: undefined,
    lastFailure: undefined,
  };
}
