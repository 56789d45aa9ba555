// One reader of the log for every subscription of the server. The live tail reads each committed
// event once (one log subscription, one decode) and offers it only to the subscriptions the filter
// index names as candidates. A subscription is in one of three places:
//   live    — it has seen everything up to the tail's position; the tail offers it new events.
//   behind  — it starts from an older checkpoint, or its window was full when the tail offered it
//             an event. The catch-up reader brings it forward in batches read from the lowest
//             position among those that have room, shared by every behind subscription the batch
//             covers, and moves it to `live` once it reaches the tail's position.
//   ahead   — its start is past the tail (created "now" while the tail still reads the last
//             commit): it joins as the tail passes its start.
// The tail's position and the live set change only together, synchronously, between two awaits, so
// a subscription moves from catch-up to live with neither a gap nor a duplicate however appends race.
import type { EventLog, LogSubscription, StoredEvent } from "@herald/log";
import type { Logger } from "pino";
import { FilterIndex, type IndexKey } from "./filter-index.js";

/** A subscription as the tail sees it. */
export interface TailMember {
  readonly id: string;
  /** Where the filter index files it. */
  readonly indexKey: IndexKey;
  /** The subscription's full filter (never throws; `$` streams are filtered by the tail). */
  matches(stored: StoredEvent): boolean;
  /** Takes a matching event into its window; false when the window is full (it then falls behind). */
  offer(stored: StoredEvent): boolean;
  /** A member that fell behind is read for again only once this is true (room in its window). */
  readonly canCatchUp: boolean;
}

export interface LogTailOptions {
  readonly log: EventLog;
  readonly logger: Logger;
  /** Events per catch-up read. Default 500. */
  readonly batchSize?: number;
}

interface Behind {
  /** The last position this member has seen. */
  after: number;
  /** Catch-up bookkeeping of the current batch. */
  round: number;
  blocked: boolean;
}

const RETRY_MS = 1000;
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class LogTail {
  readonly #log: EventLog;
  readonly #logger: Logger;
  readonly #batchSize: number;
  readonly #live = new FilterIndex<TailMember>();
  readonly #behindIndex = new FilterIndex<TailMember>();
  readonly #behind = new Map<TailMember, Behind>();
  /** Members whose start is past the tail, with that start. */
  readonly #ahead = new Map<TailMember, number>();
  /** The last position offered to live members. */
  #position = 0;
  #started = false;
  #stopped = false;
  #subscription: LogSubscription | undefined;
  #reading: Promise<void> | undefined;
  #catchingUp: Promise<void> | undefined;
  #catchUpAgain = false;
  /** Resolves the idle reader's wait. */
  #wake: (() => void) | undefined;
  #round = 0;
  readonly #scratch: TailMember[] = [];

  constructor(options: LogTailOptions) {
    this.#log = options.log;
    this.#logger = options.logger;
    this.#batchSize = options.batchSize ?? 500;
  }

  /** The last position every live member has seen. */
  get position(): number {
    return this.#position;
  }

  /** Counts for tests and the stats: how many members are where. */
  get counts(): { live: number; behind: number; ahead: number } {
    return { live: this.#live.size, behind: this.#behind.size, ahead: this.#ahead.size };
  }

  /** Starts reading at the log's head. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#position = await this.#log.headPosition();
    this.#reading = this.#readUntilStopped();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#subscription?.close();
    this.#wakeReader();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([this.#reading, this.#catchingUp]),
      new Promise((resolve) => (timer = setTimeout(resolve, 100))),
    ]);
    clearTimeout(timer);
  }

  /** Adds a member that has seen everything up to `after`. */
  join(member: TailMember, after: number): void {
    if (!this.#started) throw new Error("the log tail is not started");
    this.leave(member);
    if (after > this.#position) this.#ahead.set(member, after);
    else if (after === this.#position) this.#live.add(member, member.indexKey);
    else this.#fallBehind(member, after);
    this.#wakeReader();
  }

  leave(member: TailMember): void {
    this.#live.delete(member);
    this.#behindIndex.delete(member);
    this.#behind.delete(member);
    this.#ahead.delete(member);
  }

  /** The last position the member has seen (events after it are still in the log only). */
  positionOf(member: TailMember): number {
    const behind = this.#behind.get(member);
    if (behind !== undefined) return behind.after;
    return this.#ahead.get(member) ?? this.#position;
  }

  isBehind(member: TailMember): boolean {
    return this.#behind.has(member);
  }

  /** A member that fell behind may have room again: run the catch-up reader. */
  kick(): void {
    if (this.#stopped || this.#behind.size === 0) return;
    this.#catchUpAgain = true;
    if (this.#catchingUp === undefined) this.#catchingUp = this.#catchUpUntilDone();
  }

  // ---------- live ----------

  /**
   * Reads only while some member is live. With none, nobody needs the events: the tail stops reading
   * (catching up on events no one gets would delay the next member to join) and, once a member joins
   * past its position, jumps straight to that member's start.
   */
  async #readUntilStopped(): Promise<void> {
    while (!this.#stopped) {
      try {
        if (this.#live.size === 0) {
          if (this.#ahead.size === 0) {
            await new Promise<void>((resolve) => {
              this.#wake = resolve;
            });
            this.#wake = undefined;
            continue;
          }
          this.#position = Math.max(this.#position, Math.min(...this.#ahead.values()));
          this.#admitAhead(this.#position + 1);
        }
        const subscription = this.#log.subscribe({ after: this.#position, batchSize: this.#batchSize });
        this.#subscription = subscription;
        if (this.#stopped) subscription.close();
        for await (const stored of subscription) {
          if (this.#stopped) break;
          this.#offerLive(stored);
          this.#position = stored.position;
          if (this.#live.size === 0) break;
        }
        subscription.close();
        continue;
      } catch (error) {
        if (this.#stopped) return;
        this.#logger.error({ err: error }, "log tail failed; retrying");
      }
      if (!this.#stopped) await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
    }
  }

  /** The reader may be idle (no live member): a member became live or joined ahead. */
  #wakeReader(): void {
    this.#wake?.();
  }

  #offerLive(stored: StoredEvent): void {
    if (this.#ahead.size > 0) this.#admitAhead(stored.position);
    // System streams ($deadletter-…) never feed subscriptions: no loops.
    if (this.#live.size === 0 || stored.stream.startsWith("$")) return;
    const candidates = this.#candidates(this.#live, stored);
    for (const member of candidates) {
      if (!member.matches(stored)) continue;
      if (!member.offer(stored)) {
        // Its window is full: it reads this event again when it has room.
        this.#live.delete(member);
        this.#fallBehind(member, stored.position - 1);
      }
    }
    candidates.length = 0;
  }

  /** Members whose start lies before this position have seen everything before it: they go live. */
  #admitAhead(position: number): void {
    for (const [member, after] of this.#ahead) {
      if (after >= position) continue;
      this.#ahead.delete(member);
      this.#live.add(member, member.indexKey);
    }
  }

  #candidates(index: FilterIndex<TailMember>, stored: StoredEvent): TailMember[] {
    const out = this.#scratch;
    out.length = 0;
    try {
      index.candidates(stored.event, out);
    } catch (error) {
      // An event that cannot be decoded matches no filter (the matchers would fail on it too).
      this.#logger.warn(
        { err: error, position: stored.position },
        "event cannot be decoded; no subscription gets it",
      );
    }
    return out;
  }

  #fallBehind(member: TailMember, after: number): void {
    this.#behind.set(member, { after, round: 0, blocked: false });
    this.#behindIndex.add(member, member.indexKey);
    this.kick();
  }

  #goLive(member: TailMember): void {
    this.#behind.delete(member);
    this.#behindIndex.delete(member);
    this.#live.add(member, member.indexKey);
    this.#wakeReader();
  }

  // ---------- catch-up ----------

  /**
   * Runs until a pass finds no member to read for and no kick came meanwhile. The last check of
   * `#catchUpAgain` and clearing `#catchingUp` happen in one synchronous step, so a kick is never lost
   * between them (a lost kick would leave a member behind, with nothing left to wake it).
   */
  async #catchUpUntilDone(): Promise<void> {
    try {
      while (this.#catchUpAgain && !this.#stopped) {
        this.#catchUpAgain = false;
        try {
          while (!this.#stopped && (await this.#catchUpOnce())) await yieldToEventLoop();
        } catch (error) {
          if (this.#stopped) return;
          this.#logger.error({ err: error }, "catch-up read failed; retrying");
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
          this.#catchUpAgain = true;
        }
      }
    } finally {
      this.#catchingUp = undefined;
    }
  }

  /** One shared batch for every behind member it covers. False when no member can be read for. */
  async #catchUpOnce(): Promise<boolean> {
    let from = Number.POSITIVE_INFINITY;
    for (const [member, state] of this.#behind) {
      if (!member.canCatchUp) continue;
      if (state.after >= this.#position) this.#goLive(member);
      else from = Math.min(from, state.after);
    }
    if (from === Number.POSITIVE_INFINITY) return false;
    const page = await this.#log.read({ after: from, limit: this.#batchSize });
    if (this.#stopped) return false;
    // From here on synchronous: the tail cannot move until the members are placed.
    const tail = this.#position;
    const end = Math.min(page.next, tail);
    const round = ++this.#round;
    let covered = 0;
    for (const [member, state] of this.#behind) {
      if (!member.canCatchUp || state.after < from || state.after >= end) continue;
      state.round = round;
      state.blocked = false;
      covered++;
    }
    if (covered === 0) return true;
    for (const stored of page.events) {
      if (stored.position > end) break;
      if (stored.stream.startsWith("$")) continue;
      for (const member of this.#candidates(this.#behindIndex, stored)) {
        const state = this.#behind.get(member);
        if (state === undefined || state.round !== round || state.blocked || stored.position <= state.after)
          continue;
        if (!member.matches(stored)) continue;
        if (!member.offer(stored)) {
          state.blocked = true;
          state.after = stored.position - 1;
        }
      }
    }
    for (const [member, state] of [...this.#behind]) {
      if (state.round !== round) continue;
      state.round = 0;
      if (state.blocked) continue;
      state.after = Math.max(state.after, end);
      if (state.after >= tail) this.#goLive(member);
    }
    return true;
  }
}
