// One subscription's in-flight window: the pending events with their delivery state, handed out
// under the subscription's ordering, leased, acked, retried with backoff or dead-lettered.
//
// Every pending event is in exactly one state: `ready` (waiting for a consumer, maybe until
// `readyAt` after a failed attempt), `leased` (delivered, awaiting ack/nack/timeout) or `dying`
// (being appended to the dead-letter stream). The checkpoint is the low-water mark: every live
// position ≤ it is acked or dead-lettered. Redriven dead letters sit beside the live window and
// never move the checkpoint.
import { randomUUID } from "node:crypto";
import type { CloudEvent } from "@herald/cloudevents";
import type { StoredEvent } from "@herald/log";
import { backoffDelay, type DeadLetterReason, type DeliveryOutcome } from "@herald/protocol";
import type { DeliverySettings } from "./model.js";

/** Why a delivery failed: the dead letter records the last one. */
export interface AttemptFailure {
  readonly status?: number;
  readonly error: string;
}

/** Who holds a leased entry: the push sink, a pull request, or one streaming connection. */
export type Holder = "push" | "pull" | object;

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

/** The immutable part of an entry (what a redrive supplies). */
export type EntrySeed = Pick<Entry, "position" | "stream" | "json" | "recordedAt" | "redrive" | "event">;

/** What the window tells its owner. */
export interface WindowEvents {
  /** Appends the dead letter; the entry leaves the window once it resolves. */
  deadLetter(entry: Entry, reason: DeadLetterReason): Promise<void>;
  deadLettered(entry: Entry, reason: DeadLetterReason, failure: AttemptFailure): void;
  deadLetterFailed(error: unknown): void;
  /** An acked entry, with the time it was acked. */
  delivered(entry: Entry, now: number): void;
  /** A leased entry is handed out again (deliveryCount > 1). */
  retried(entry: Entry): void;
  /** One attempt ended (for the delivery ledger): how, the sink's status or the error, and when. */
  attempted(entry: Entry, outcome: DeliveryOutcome, detail: Partial<AttemptFailure>, now: number): void;
  /** A lease ended (ack, nack, timeout, push outcome): the holder holds one less. */
  released(entry: Entry, holder: Holder): void;
  /** A redriven entry finished (acked or dead-lettered again). */
  redriveDone(version: number): void;
  /** Something may be handed out now (an entry became ready, or a lease ended). */
  changed(): void;
}

export interface AckResult {
  readonly done: number;
  readonly unknown: readonly string[];
}

export class DeliveryWindow {
  readonly #settings: DeliverySettings;
  readonly #events: WindowEvents;
  /** Live window, in position order (Map keeps insertion order; events come in order). */
  readonly #live = new Map<number, Entry>();
  readonly #redriven = new Map<number, Entry>();
  /**
   * Entries in state "ready" (ordering other than "key"), redriven and live apart, so handing out
   * does not walk the whole window past leased entries (O(window) per event once maxInFlight is
   * reached). Kept in `seq` order — the order of the maps above.
   */
  readonly #readyRedriven = new Set<Entry>();
  readonly #readyLive = new Set<Entry>();
  /** An entry became ready again (after a failure): the sets need sorting back into `seq` order. */
  #readyUnsorted = false;
  /** Per-stream FIFO (ordering "key" only). */
  readonly #queues = new Map<string, Entry[]>();
  readonly #byAckId = new Map<string, Entry>();
  #inFlight = 0;
  /** Set when a lease or backoff was added since the last `nextTimer` scan. */
  #timersChanged = false;
  #nextLeaseExpiry = Number.POSITIVE_INFINITY;
  /** Set by revoke(): outstanding ack ids mean nothing any more. */
  #revoked = false;

  /** The most live entries the window holds; beyond it the reader waits. */
  readonly limit: number;

  constructor(settings: DeliverySettings, events: WindowEvents) {
    this.#settings = settings;
    this.#events = events;
    this.limit = Math.min(10_000, Math.max(256, settings.maxInFlight * 4));
  }

  get liveCount(): number {
    return this.#live.size;
  }

  get pendingCount(): number {
    return this.#live.size + this.#redriven.size;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get capacity(): number {
    return this.#settings.maxInFlight - this.#inFlight;
  }

  get isRevoked(): boolean {
    return this.#revoked;
  }

  /** Every lease is void from now on (a reset). */
  revoke(): void {
    this.#revoked = true;
  }

  /** The low-water mark, given how far the reader got: every live position ≤ it is settled. */
  checkpoint(readUpTo: number): number {
    for (const position of this.#live.keys()) return position - 1;
    return readUpTo;
  }

  /** Leased entries (for a consumer that went away, or a stop). */
  leased(): Entry[] {
    return [...this.#byAckId.values()];
  }

  // ---------- adding ----------

  addLive(stored: StoredEvent): void {
    const entry = newEntry(
      stored.position,
      stored.stream,
      stored.json,
      stored.recordedAt,
      undefined,
      () => stored.event,
    );
    this.#live.set(entry.position, entry);
    // Fresh entries come in position order: appending keeps the set sorted.
    if (this.#settings.ordering !== "key") this.#readyLive.add(entry);
    this.#enqueue(entry);
  }

  /** Queues redriven dead letters for redelivery (beside the live window). */
  addRedriven(seeds: readonly EntrySeed[]): void {
    for (const seed of seeds) {
      if (seed.redrive === undefined || this.#redriven.has(seed.redrive)) continue;
      const entry = newEntry(
        seed.position,
        seed.stream,
        seed.json,
        seed.recordedAt,
        seed.redrive,
        seed.event,
      );
      this.#redriven.set(seed.redrive, entry);
      this.#markReady(entry);
      this.#enqueue(entry);
    }
  }

  #enqueue(entry: Entry): void {
    if (this.#settings.ordering !== "key") return;
    const queue = this.#queues.get(entry.stream);
    if (!queue) {
      this.#queues.set(entry.stream, [entry]);
      return;
    }
    // Redriven entries are older than live ones: keep each stream's queue in position order.
    let i = queue.length;
    while (i > 0 && queue[i - 1]!.position > entry.position) i--;
    queue.splice(i, 0, entry);
  }

  // ---------- handing out ----------

  /** Ready entries a consumer may take now, in position order, at most `limit`. */
  eligible(now: number, limit: number): Entry[] {
    const out: Entry[] = [];
    if (limit <= 0) return out;
    const due = (e: Entry) => e.state === "ready" && e.readyAt <= now;
    if (this.#settings.ordering === "key") {
      for (const queue of this.#queues.values()) {
        const head = queue[0];
        if (head && due(head)) out.push(head);
      }
      out.sort((a, b) => a.position - b.position);
      return out.length > limit ? out.slice(0, limit) : out;
    }
    if (this.#readyUnsorted) {
      sortBySeq(this.#readyRedriven);
      sortBySeq(this.#readyLive);
      this.#readyUnsorted = false;
    }
    for (const set of [this.#readyRedriven, this.#readyLive]) {
      for (const entry of set) {
        if (!due(entry)) continue;
        out.push(entry);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  /** Hands the entry to `holder`: it gets an ack id, and a lease unless the holder is the push sink. */
  lease(entry: Entry, holder: Holder, now: number): string {
    this.#unmarkReady(entry);
    entry.state = "leased";
    entry.holder = holder;
    entry.deliveryCount++;
    const ackId = randomUUID();
    entry.ackId = ackId;
    entry.leaseExpiresAt = holder === "push" ? Number.POSITIVE_INFINITY : now + this.#settings.ackTimeoutMs;
    if (holder !== "push") {
      this.#nextLeaseExpiry = Math.min(this.#nextLeaseExpiry, entry.leaseExpiresAt);
      this.#timersChanged = true;
    }
    entry.firstAttemptAt ??= now;
    entry.lastAttemptAt = now;
    this.#byAckId.set(ackId, entry);
    this.#inFlight++;
    if (entry.deliveryCount > 1) this.#events.retried(entry);
    return ackId;
  }

  /** Fails every lease that ran out. */
  expireLeases(now: number): void {
    // Leases only ever expire after the earliest one known: skip the scan until then.
    if (now < this.#nextLeaseExpiry) return;
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.#byAckId.values()) {
      if (entry.state !== "leased") continue;
      if (entry.leaseExpiresAt <= now) {
        this.fail(
          entry,
          { error: `not acknowledged within ${this.#settings.ackTimeoutMs} ms` },
          undefined,
          "timeout",
        );
      } else {
        next = Math.min(next, entry.leaseExpiresAt);
      }
    }
    this.#nextLeaseExpiry = next;
  }

  /**
   * The next backoff end or lease expiry after `now`, when a lease or backoff was added since the
   * last call (undefined otherwise: the timer armed before still stands).
   */
  nextTimer(now: number): number | undefined {
    if (!this.#timersChanged) return undefined;
    this.#timersChanged = false;
    let earliest = Number.POSITIVE_INFINITY;
    for (const map of [this.#live, this.#redriven]) {
      for (const entry of map.values()) {
        if (entry.state === "ready" && entry.readyAt > now) earliest = Math.min(earliest, entry.readyAt);
        else if (entry.state === "leased") earliest = Math.min(earliest, entry.leaseExpiresAt);
      }
    }
    return earliest;
  }

  /** A timer fired: the next `nextTimer` must scan again. */
  timerFired(): void {
    this.#timersChanged = true;
  }

  // ---------- settling ----------

  /** The leased entry of an ack id (undefined when unknown, settled or revoked). */
  leasedBy(ackId: string): Entry | undefined {
    if (this.#revoked) return undefined;
    const entry = this.#byAckId.get(ackId);
    return entry?.state === "leased" ? entry : undefined;
  }

  /** `status`: the sink's answer, when a push attempt acked. */
  ack(ackIds: readonly string[], status?: number): AckResult {
    if (this.#revoked) return { done: 0, unknown: [...ackIds] };
    const unknown: string[] = [];
    let done = 0;
    const now = Date.now();
    for (const ackId of ackIds) {
      const entry = this.leasedBy(ackId);
      if (entry === undefined) {
        unknown.push(ackId);
        continue;
      }
      this.#release(entry);
      this.#remove(entry);
      this.#events.attempted(entry, "acked", status === undefined ? {} : { status }, now);
      this.#events.delivered(entry, now);
      done++;
    }
    if (done > 0) this.#events.changed();
    return { done, unknown };
  }

  nack(ackIds: readonly string[], delayMs: number | undefined): AckResult {
    if (this.#revoked) return { done: 0, unknown: [...ackIds] };
    const unknown: string[] = [];
    let done = 0;
    for (const ackId of ackIds) {
      const entry = this.leasedBy(ackId);
      if (entry === undefined) {
        unknown.push(ackId);
        continue;
      }
      this.fail(entry, { error: "negatively acknowledged" }, delayMs, "nacked");
      done++;
    }
    return { done, unknown };
  }

  /** A failed attempt: back off and retry, or dead-letter once maxDeliveries is used up. */
  fail(
    entry: Entry,
    failure: AttemptFailure,
    delayMs?: number,
    outcome: "retry" | "timeout" | "nacked" = "retry",
  ): void {
    this.#release(entry);
    entry.lastFailure = failure;
    if (entry.deliveryCount >= this.#settings.maxDeliveries) {
      this.#events.attempted(entry, "dead-lettered", failure, Date.now());
      this.kill(entry, "max-deliveries", failure, false);
      return;
    }
    this.#events.attempted(entry, outcome, failure, Date.now());
    entry.state = "ready";
    entry.readyAt = Date.now() + (delayMs ?? backoffDelay(entry.deliveryCount, this.#settings.backoff));
    this.#markReady(entry);
    this.#timersChanged = true;
    this.#events.changed();
  }

  /** Dead-letters the entry; it stays pending (and is retried later) until the append succeeds. */
  /** `record`: the attempt that caused it goes to the ledger (fail() records its own). */
  kill(entry: Entry, reason: DeadLetterReason, failure: AttemptFailure, record = true): void {
    if (record)
      this.#events.attempted(
        entry,
        reason === "rejected" ? "rejected" : "dead-lettered",
        failure,
        Date.now(),
      );
    if (entry.state === "leased") this.#release(entry);
    entry.lastFailure = failure;
    entry.state = "dying";
    this.#unmarkReady(entry);
    this.#events.deadLetter(entry, reason).then(
      () => {
        this.#events.deadLettered(entry, reason, failure);
        this.#remove(entry);
        this.#events.changed();
      },
      (error: unknown) => {
        // The event stays pending and is tried again later: it is never dropped.
        this.#events.deadLetterFailed(error);
        entry.state = "ready";
        entry.readyAt = Date.now() + this.#settings.backoff.capMs;
        this.#markReady(entry);
        this.#timersChanged = true;
        this.#events.changed();
      },
    );
  }

  /** Ends the entry's lease (after ack, nack, timeout or push outcome). */
  #release(entry: Entry): void {
    if (entry.ackId !== undefined) this.#byAckId.delete(entry.ackId);
    entry.ackId = undefined;
    if (entry.state === "leased") this.#inFlight--;
    const holder = entry.holder;
    entry.holder = undefined;
    entry.state = "ready";
    if (holder !== undefined) this.#events.released(entry, holder);
  }

  #remove(entry: Entry): void {
    this.#unmarkReady(entry);
    if (entry.redrive !== undefined) {
      this.#redriven.delete(entry.redrive);
      this.#events.redriveDone(entry.redrive);
    } else {
      this.#live.delete(entry.position);
    }
    if (this.#settings.ordering === "key") {
      const queue = this.#queues.get(entry.stream);
      if (queue) {
        const i = queue.indexOf(entry);
        if (i >= 0) queue.splice(i, 1);
        if (queue.length === 0) this.#queues.delete(entry.stream);
      }
    }
  }

  #markReady(entry: Entry): void {
    if (this.#settings.ordering === "key") return;
    const set = entry.redrive === undefined ? this.#readyLive : this.#readyRedriven;
    if (set.has(entry)) return;
    set.add(entry);
    this.#readyUnsorted = true;
  }

  #unmarkReady(entry: Entry): void {
    if (entry.redrive === undefined) this.#readyLive.delete(entry);
    else this.#readyRedriven.delete(entry);
  }
}

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
