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
import type { EventLog, RetentionPolicy } from "@herald/log";
import type { Logger } from "./observability/logger.js";
import type { RetentionConfig, RetentionRuleConfig } from "./settings.js";
import { checkpointGroup } from "./subscriptions/store.js";

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
  readonly deleted: number;
  /** Subscriptions that lost events they had not acked (count rules, `dropUnacked`). */
  readonly overtaken: ReadonlyArray<{ readonly subscription: string; readonly skipped: number }>;
}

export interface RetentionRunnerOptions {
  readonly log: EventLog;
  readonly rules: readonly RetentionRuleConfig[];
  readonly intervalMs: number;
  readonly logger: Logger;
  /** The clock (tests). */
  readonly now?: () => number;
}

export class RetentionRunner {
  readonly #options: RetentionRunnerOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RetentionPassReport> | undefined;
  #applied = "";

  constructor(options: RetentionRunnerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.#options.rules.length > 0;
  }

  /** Starts the interval (no-op without rules). */
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
    const { log, logger } = this.#options;
    if (!this.enabled) return { deleted: 0, overtaken: [] };
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

  async #checkpoints(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const { group, position } of await this.#options.log.checkpoints.list())
      if (group.startsWith(SUBSCRIPTION_GROUP)) out.set(group.slice(SUBSCRIPTION_GROUP.length), position);
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
