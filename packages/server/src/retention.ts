// Retention for `herald serve`: the configured rules become the log's retention policies, applied on an
// interval in the background. The log deletes in small transactions between group commits (SQLite: 500
// events each), so appends never wait behind a whole pass.
//
// How rules meet subscriptions:
// - An age rule (`maxAge`) never drops an event a subscription has not acked, unless the rule says
//   `dropUnacked`: while a subscription lags, the pass stretches the age bound to the oldest event past
//   the slowest subscription's checkpoint (plus one interval of margin). A lagging subscription therefore
//   delays deletion; it never loses events to an age rule.
// - A count rule (`maxCount`) is a hard bound on what a stream keeps: it drops the oldest events, acked
//   or not. So does an age rule with `dropUnacked`.
// - A subscription whose unacked events were dropped resumes at the next event that still exists; the
//   pass logs a warning naming it and how many positions past its checkpoint are gone (events it had
//   already read into its delivery window are still delivered).
//
// Queue mode (`config.retention: "queue"`), after the rules: an event is dropped when at least one
// subscription matches it, every subscription that matches it is a queue, and each of those has acked
// it (stored checkpoint at or past it). An event a stream-mode subscription matches, or that no
// subscription matches, is kept (unless a rule drops it). While a subscription with a checkpoint is not
// running (it failed to resume), its filter is unknown, so nothing is dropped by queue mode.
import type { EventLog, RetentionPolicy, StoredEvent } from "@herald/log";
import type { Logger } from "./observability/logger.js";
import type { RetentionConfig, RetentionRuleConfig } from "./settings.js";
import type { RetentionView } from "./subscriptions/manager.js";
import { checkpointGroup } from "./subscriptions/store.js";

/** Events read, and at most deleted, per queue-mode slice (one log transaction each). */
const QUEUE_SLICE = 500;

/** Checkpoint groups of subscriptions start with this. */
const SUBSCRIPTION_GROUP = checkpointGroup("");

/** The rules a config asks for: `retention.maxAge`/`maxCount` (every stream) first, then `retention.rules`. */
export function retentionRules(config: RetentionConfig): RetentionRuleConfig[] {
  const rules: RetentionRuleConfig[] = [];
  const everyStream: RetentionRuleConfig = {};
  if (config.maxAge > 0) everyStream.maxAgeMs = config.maxAge;
  if (config.maxCount > 0) everyStream.maxCount = config.maxCount;
  if (everyStream.maxAgeMs !== undefined || everyStream.maxCount !== undefined) rules.push(everyStream);
  return [...rules, ...config.rules];
}

export interface RetentionPassReport {
  /** Every event the pass deleted, `dequeued` included. */
  readonly deleted: number;
  /** Events dropped by queue mode: acked by every (queue-mode) subscription matching them. */
  readonly dequeued: number;
  /** Subscriptions that lost events they had not acked (count rules, `dropUnacked`). */
  readonly overtaken: ReadonlyArray<{ readonly subscription: string; readonly skipped: number }>;
}

export interface RetentionRunnerOptions {
  readonly log: EventLog;
  readonly rules: readonly RetentionRuleConfig[];
  readonly intervalMs: number;
  readonly logger: Logger;
  /** The subscriptions' modes and matchers, for queue mode (undefined while they load). */
  readonly subscriptions?: () => RetentionView | undefined;
  /** The clock (tests). */
  readonly now?: () => number;
}

export class RetentionRunner {
  readonly #options: RetentionRunnerOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RetentionPassReport> | undefined;
  #applied = "";
  /** Queue mode: positions up to here were decided under the subscription set `#queueKey`. */
  #queueCursor = 0;
  #queueKey = "";

  constructor(options: RetentionRunnerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Rules, or subscriptions that may be in queue mode. */
  get enabled(): boolean {
    return this.#options.rules.length > 0 || this.#options.subscriptions !== undefined;
  }

  /** Starts the interval (no-op without rules or subscriptions). */
  start(): void {
    if (!this.enabled || this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.run().catch((error: unknown) =>
        this.#options.logger.error({ err: error }, "retention pass failed"),
      );
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Stops the interval and waits for a pass in progress. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => {});
  }

  /** One pass now; concurrent callers share the pass in progress. */
  run(): Promise<RetentionPassReport> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #pass(): Promise<RetentionPassReport> {
    const ruled = await this.#rulesPass();
    // After the rules' overtaken check, which must not mistake queue drops for losses.
    const dequeued = await this.#queuePass();
    if (dequeued > 0) this.#options.logger.info(`retention dropped ${dequeued} acked queue events`);
    return { deleted: ruled.deleted + dequeued, dequeued, overtaken: ruled.overtaken };
  }

  async #rulesPass(): Promise<Omit<RetentionPassReport, "dequeued">> {
    const { log, logger } = this.#options;
    if (this.#options.rules.length === 0) return { deleted: 0, overtaken: [] };
    const before = await this.#firstUnacked();
    const policies = this.#policies(before);
    const key = JSON.stringify(policies);
    // Setting policies resets the log's scan progress: only when they change.
    if (key !== this.#applied) {
      log.setRetention(policies);
      this.#applied = key;
    }
    const { deleted } = await log.runRetention();
    const overtaken: Array<{ subscription: string; skipped: number }> = [];
    if (deleted > 0) {
      const checkpoints = await this.#checkpoints();
      for (const [subscription, was] of before) {
        if (was.first === undefined) continue;
        const current = checkpoints.get(subscription);
        if (current === undefined) continue;
        // What it had not acked when the pass began and still has not: from here on, a gap was a loss.
        const lostFrom = Math.max(was.first.position, current + 1);
        const next = (await log.read({ after: lostFrom - 1, limit: 1 })).events[0];
        const resumesAt = next?.position ?? (await log.headPosition()) + 1;
        if (resumesAt > lostFrom) overtaken.push({ subscription, skipped: resumesAt - lostFrom });
      }
      logger.info(`retention deleted ${deleted} events`);
      for (const { subscription, skipped } of overtaken)
        logger.warn(
          { subscription, skipped },
          "retention dropped events past the subscription's checkpoint; it resumes at the next existing event",
        );
    }
    return { deleted, overtaken };
  }

  /** Queue mode, in slices of QUEUE_SLICE positions: see the header. Returns how many events went. */
  async #queuePass(): Promise<number> {
    const view = this.#options.subscriptions?.();
    if (view === undefined || !view.some((s) => s.queue)) return 0;
    const checkpoints = await this.#checkpoints();
    const known = new Set(view.map((s) => s.id));
    for (const group of checkpoints.keys()) if (!known.has(group)) return 0;
    const acked = (id: string) => checkpoints.get(id) ?? 0;
    // Decisions hold while the subscription set stays the same; a change (new, removed, updated,
    // other mode) may free events decided before, so scanning starts over.
    const key = JSON.stringify(view.map((s) => [s.id, s.queue, s.filterKey]));
    if (key !== this.#queueKey) {
      this.#queueKey = key;
      this.#queueCursor = 0;
    }
    const queues = view.filter((s) => s.queue);
    const upTo = Math.max(...queues.map((s) => acked(s.id)));
    const droppable = (stored: StoredEvent): boolean => {
      let matched = false;
      for (const subscription of view) {
        if (!subscription.matches(stored)) continue;
        if (!subscription.queue || acked(subscription.id) < stored.position) return false;
        matched = true;
      }
      return matched;
    };
    let after = this.#queueCursor;
    let dropped = 0;
    while (after < upTo) {
      const page = await this.#options.log.read({
        after,
        limit: QUEUE_SLICE,
        scanLimit: QUEUE_SLICE,
      });
      const doomed = page.events.filter((e) => e.position <= upTo && droppable(e)).map((e) => e.position);
      if (doomed.length > 0) dropped += await this.#options.log.deleteEvents(doomed);
      if (page.next <= after) break;
      after = page.next;
    }
    // Everything up to the slowest queue's checkpoint is decided for good (until the set changes).
    this.#queueCursor = Math.max(this.#queueCursor, Math.min(upTo, ...queues.map((s) => acked(s.id))));
    return dropped;
  }

  /** Age bounds stretched so they keep the oldest unacked event (rules without `dropUnacked`). */
  #policies(progress: ReadonlyMap<string, Progress>): RetentionPolicy[] {
    let oldest: number | undefined;
    for (const { first } of progress.values())
      if (first !== undefined && (oldest === undefined || first.recordedAt < oldest))
        oldest = first.recordedAt;
    const floor = oldest === undefined ? 0 : this.#now() - oldest + this.#options.intervalMs;
    return this.#options.rules.map((rule) => {
      const policy: { -readonly [K in keyof RetentionPolicy]: RetentionPolicy[K] } = {};
      if (rule.streamPrefix !== undefined) policy.streamPrefix = rule.streamPrefix;
      if (rule.type !== undefined) policy.type = rule.type;
      if (rule.maxCount !== undefined) policy.maxCount = rule.maxCount;
      if (rule.maxAgeMs !== undefined)
        policy.maxAgeMs = rule.dropUnacked === true ? rule.maxAgeMs : Math.max(rule.maxAgeMs, floor);
      return policy;
    });
  }

  /**
   * Each subscription's checkpoint: the stored one, or a running subscription's own when it is ahead
   * (idle progress is stored lazily; everything up to it is settled or not matched, so going by it
   * cannot take an unacked event).
   */
  async #checkpoints(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const { group, position } of await this.#options.log.checkpoints.list())
      if (group.startsWith(SUBSCRIPTION_GROUP)) out.set(group.slice(SUBSCRIPTION_GROUP.length), position);
    for (const subscription of this.#options.subscriptions?.() ?? []) {
      const stored = out.get(subscription.id);
      if (stored !== undefined) out.set(subscription.id, Math.max(stored, subscription.checkpoint()));
    }
    return out;
  }

  /** Per subscription: its checkpoint and the first stored event after it (none when caught up). */
  async #firstUnacked(): Promise<Map<string, Progress>> {
    const out = new Map<string, Progress>();
    for (const [subscription, checkpoint] of await this.#checkpoints()) {
      const first = (await this.#options.log.read({ after: checkpoint, limit: 1 })).events[0];
      out.set(subscription, {
        checkpoint,
        ...(first !== undefined ? { first: { position: first.position, recordedAt: first.recordedAt } } : {}),
      });
    }
    return out;
  }
}

interface Progress {
  readonly checkpoint: number;
  readonly first?: { readonly position: number; readonly recordedAt: number };
}
