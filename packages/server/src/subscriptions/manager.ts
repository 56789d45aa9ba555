// The subscription manager: owns the subscription resources (persisted in the log's metadata) and
// runs one Dispatcher per subscription on the shared log tail; it serializes create/update/delete,
// redrive and reset, stores checkpoints (checkpoints.ts decides when) and answers stats.
import { randomUUID } from "node:crypto";
import type { CloudEvent } from "@herald/cloudevents";
import type { DeliveriesResponse, ResetResponse, SubscriptionStats } from "@herald/protocol";
import { deriveStream, type EventLog, type StoredEvent } from "@herald/log";
import type { Logger } from "pino";
import type { LogIdentityStatus, StaleCheckpoint } from "@herald/protocol";
import { Counter, Gauge, type Registry } from "prom-client";
import { type DeadLetterView, deadLetterEvent } from "./dead-letters.js";
import { type CheckpointPolicy, CheckpointTracker, DEFAULT_CHECKPOINT_POLICY } from "./checkpoints.js";
import type { Message, StreamConsumer } from "./consumers.js";
import { Dispatcher } from "./dispatcher.js";
import {
  SubscriptionExistsError,
  SubscriptionManagerStoppedError,
  SubscriptionModeError,
  SubscriptionNotFoundError,
  SubscriptionValidationError,
} from "./errors.js";
import { compileMatcher, type EventMatcher } from "./filters.js";
import type { HealthSeries } from "../observability/series.js";
import { DeliveryLedger, ProgressRate } from "./ledger.js";
import { LogTail } from "./log-tail.js";
import { SubscriptionMetrics } from "./metrics.js";
import type { PushCancel } from "./push-cancel.js";
import type { PushOutcome } from "./push-delivery.js";
import {
  type DeliverySettings,
  isObject,
  parseSubscription,
  redact,
  restoreSecrets,
  type StartPosition,
  type SubscriptionResource,
  settingsOf,
} from "./model.js";
import { PushClient, type PushTarget, pushTarget } from "./push.js";
import { type EngineUrl, EngineUrlError, isEngineUrl, parseEngineUrl } from "../bridges/engine-url.js";
import type { Bridges } from "../bridges/hook.js";
import { SinkPolicy, type SinkPolicyOptions } from "./sink-policy.js";
import type { ClusterCoordinator } from "../cluster/coordinator.js";
import { partitionOf } from "../cluster/partition.js";
import { PartitionedDispatcher } from "./partitioned.js";
import { type DeadLetterListOptions, parseRedrive, Redrive } from "./redrive.js";
import { parseReset } from "./reset.js";
import {
  clearHeld,
  type IdentityCheck,
  judge,
  loadHeld,
  readIdentity,
  type StaleCheckpointAction,
  stampIdentity,
  storeHeld,
} from "./stale.js";
import { checkpointGroup, deadLetterStream, partitionGroup, SubscriptionStore } from "./store.js";
import type { AckResult, Entry, EntrySeed } from "./window.js";

/** Per subscription: its id, whether it is a queue, and whether it would deliver an event. */
export type RetentionView = ReadonlyArray<{
  readonly id: string;
  readonly queue: boolean;
  /** Changes when what it matches changes (PUT). */
  readonly filterKey: string;
  readonly matches: (stored: StoredEvent) => boolean;
  /** Its checkpoint in memory (ahead of the stored one while idle progress is not yet stored). */
  readonly checkpoint: () => number;
}>;

export interface SubscriptionManagerOptions {
  log: EventLog;
  /** Register your own metrics on it. */
  registry: Registry;
  logger: Logger;
  /** Link-local + cloud metadata refused by default. */
  sinkPolicy?: SinkPolicyOptions;
  /** How often moved checkpoints are persisted. Default 100 ms. */
  checkpointIntervalMs?: number;
  /** When idle progress (past events a subscription does not match) is persisted. */
  checkpointPolicy?: Partial<CheckpointPolicy>;
  /**
   * Cluster mode (storage `postgres`): subscriptions are split into partitions delivered by the
   * instances holding their leases; resource changes are announced to the other instances.
   */
  cluster?: ClusterCoordinator;
  /** Delivery attempts kept per subscription (setting `subscriptions.deliveryLedger`). Default 1000. */
  deliveryLedger?: number;
  /** Lag without progress for this long is `stalled` (setting `subscriptions.stalledAfter`). Default 60 s. */
  stalledAfterMs?: number;
  /** Fed with each delivery attempt (GET /stats/series). */
  series?: HealthSeries;
  /** Positions a reset's count scans before answering an upper bound. Default RESET_COUNT_SCAN. For tests. */
  resetCountScan?: number;
  /** A stale checkpoint at start (see stale.ts): hold the subscription, or rewind it. Default refuse. */
  staleCheckpoints?: StaleCheckpointAction;
  /** Delivery to sinks that are engine URLs; without it such sinks are refused. */
  bridges?: Bridges;
}

/** Positions scanned past the reader when computing lag; beyond it lag is an upper bound. */
const LAG_SCAN_LIMIT = 10_000;
/**
 * How long a reset counts the events it would re-deliver (the count decodes each event for the
 * filter), and the most positions it scans; past either, `redeliver` is an upper bound and
 * `redeliverExact` is false. The count always covers at least RESET_COUNT_MIN positions.
 */
export const RESET_COUNT_BUDGET_MS = 500;
export const RESET_COUNT_SCAN = 1_000_000;
const RESET_COUNT_MIN = 10_000;

interface Running {
  resource: SubscriptionResource;
  settings: DeliverySettings;
  matcher: EventMatcher;
  dispatcher: Dispatcher | PartitionedDispatcher;
  checkpoints: CheckpointTracker;
  /** Cluster mode: the epoch of its partition checkpoints, and its start (for partitions never stored). */
  epoch: string | undefined;
  base: number;
  redrive: Redrive;
  counts: Counts;
}

/** What a subscription did since this server started it (kept across reloads and edits). */
interface Counts {
  delivered: number;
  retried: number;
  deadLettered: number;
  /** Recent delivery attempts (GET /subscriptions/{id}/deliveries). */
  readonly ledger: DeliveryLedger;
  /** Events acked or dead-lettered: the delivery rate and the last progress. */
  readonly progress: ProgressRate;
  /** When this server started delivering it (a stall is counted from here until progress). */
  readonly since: number;
}

export class SubscriptionManager {
  private readonly log: EventLog;
  private readonly logger: Logger;
  private readonly store: SubscriptionStore;
  private readonly metrics: SubscriptionMetrics;
  private readonly policy: SinkPolicy;
  private readonly pushClient: PushClient;
  /** Sinks that are engine URLs (nats://, amqp://, redis://, mqtt://). */
  private readonly bridges: Bridges | undefined;
  private readonly running = new Map<string, Running>();
  /** Subscriptions held because their checkpoint was stale (setting staleCheckpoints: refuse). */
  private readonly held = new Map<string, { resource: SubscriptionResource; verdict: StaleCheckpoint }>();
  /** What start found: the log's identity, and the stale checkpoints rewound. */
  private identityCheck: IdentityCheck | undefined;
  private readonly rewound: StaleCheckpoint[] = [];
  private readonly staleAction: StaleCheckpointAction;
  private readonly staleTotal: Counter<"reason" | "action">;
  /** The one reader of the log that feeds every subscription. */
  private readonly tail: LogTail;
  private readonly checkpointIntervalMs: number;
  private readonly checkpointPolicy: CheckpointPolicy;
  private readonly cluster: ClusterCoordinator | undefined;
  private readonly ledgerSize: number;
  private readonly stalledAfterMs: number;
  private readonly series: HealthSeries | undefined;
  private readonly resetCountScan: number;
  /** Cluster mode: every stored checkpoint by group, refreshed about every second. */
  private storedCheckpoints = new Map<string, number>();
  private flushes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private mutations: Promise<unknown> = Promise.resolve();
  private state: "new" | "starting" | "running" | "stopped" = "new";
  private snapshotCache:
    | { at: number; value: Promise<Array<{ id: string; lag: number; inFlight: number }>> }
    | undefined;

  constructor(options: SubscriptionManagerOptions) {
    this.log = options.log;
    this.logger = options.logger;
    this.store = new SubscriptionStore(options.log);
    this.policy = new SinkPolicy(options.sinkPolicy);
    this.pushClient = new PushClient(this.policy);
    this.bridges = options.bridges;
    this.tail = new LogTail({ log: options.log, logger: options.logger });
    this.checkpointIntervalMs = options.checkpointIntervalMs ?? 100;
    this.checkpointPolicy = { ...DEFAULT_CHECKPOINT_POLICY, ...options.checkpointPolicy };
    this.cluster = options.cluster;
    this.ledgerSize = options.deliveryLedger ?? 1000;
    this.stalledAfterMs = options.stalledAfterMs ?? 60_000;
    this.series = options.series;
    this.resetCountScan = options.resetCountScan ?? RESET_COUNT_SCAN;
    this.metrics = new SubscriptionMetrics(options.registry, { snapshot: () => this.snapshot() });
    this.staleAction = options.staleCheckpoints ?? "refuse";
    this.staleTotal = new Counter({
      name: "herald_stale_checkpoints_total",
      help: "Subscription checkpoints found stale at start (the log restored from an older backup, or another log's), by what was done: held or rewound",
      labelNames: ["reason", "action"],
      registers: [options.registry],
    });
    const held = this.held;
    new Gauge({
      name: "herald_subscriptions_held",
      help: "Subscriptions not delivered because their checkpoint is stale (reset them)",
      registers: [options.registry],
      collect() {
        this.set(held.size);
      },
    });
  }

  /** The log's identity as start found it (for /readyz). */
  logStatus(): LogIdentityStatus | undefined {
    const identity = this.identityCheck?.identity;
    return identity === undefined ? undefined : { ...identity };
  }

  /** Stale checkpoints found at start: held ones (until reset) and rewound ones. */
  staleCheckpoints(): StaleCheckpoint[] {
    return [...[...this.held.values()].map((h) => h.verdict), ...this.rewound];
  }

  /** Loads persisted subscriptions and resumes delivery from their checkpoints. */
  async start(): Promise<void> {
    if (this.state !== "new") return;
    this.state = "starting";
    await this.tail.start();
    const check = await readIdentity(this.log);
    this.identityCheck = check;
    if (check.restored)
      this.logger.warn(
        { log: check.identity, previous: check.stamp },
        `the log is a restored or copied database (epoch ${check.identity.epoch} from position ${check.identity.epochStart}): checking subscription checkpoints against it`,
      );
    const resources = await this.store.list();
    const runnable: SubscriptionResource[] = [];
    for (const resource of resources) {
      try {
        if (await this.checkStale(check, resource)) runnable.push(resource);
      } catch (error) {
        this.logger.error({ err: error, subscription: resource.id }, "subscription checkpoint not checked");
      }
    }
    await stampIdentity(this.log, check);
    if (this.cluster) this.storedCheckpoints = await this.store.allCheckpoints();
    for (const resource of runnable) {
      try {
        await this.run(resource, settingsOf(resource));
      } catch (error) {
        this.logger.error({ err: error, subscription: resource.id }, "subscription could not be resumed");
      }
    }
    this.flushTimer = setInterval(() => {
      void this.flush();
      if (this.cluster && ++this.flushes % Math.max(1, Math.round(1000 / this.checkpointIntervalMs)) === 0)
        void this.refreshStoredCheckpoints();
    }, this.checkpointIntervalMs);
    this.flushTimer.unref();
    this.state = "running";
  }

  /**
   * Whether the subscription may resume: a held one (marker from an earlier start, or stale now
   * with `refuse`) is not; a stale one with `rewind` is moved back first.
   */
  private async checkStale(check: IdentityCheck, resource: SubscriptionResource): Promise<boolean> {
    const id = resource.id;
    const already = await loadHeld(this.log, id);
    if (already !== undefined) {
      this.held.set(id, { resource, verdict: already });
      this.logger.error(
        { subscription: id, stale: already },
        "subscription held: its checkpoint is stale; reset it",
      );
      return false;
    }
    // Its own checkpoint (in a cluster: where partitions never stored begin) and its partitions'.
    const groups = new Map<string, number>([
      [checkpointGroup(id), (await this.store.loadCheckpoint(id)) ?? 0],
    ]);
    const epoch = this.cluster ? await this.store.loadEpoch(id) : undefined;
    if (epoch !== undefined) {
      const prefix = partitionGroup(id, epoch, 0).slice(0, -1);
      for (const [group, position] of await this.store.allCheckpoints())
        if (group.startsWith(prefix)) groups.set(group, position);
    }
    const verdict = judge(check, id, [...groups.values()], this.staleAction);
    if (verdict === undefined) return true;
    this.staleTotal.inc({ reason: verdict.reason, action: verdict.action });
    if (verdict.action === "held") {
      await storeHeld(this.log, verdict);
      this.held.set(id, { resource, verdict });
      this.logger.error(
        { subscription: id, stale: verdict },
        `subscription held: its checkpoint ${verdict.checkpoint} is ${verdict.reason === "ahead" ? "beyond what this copy of the log holds" : "another log's"}; reset it (POST /subscriptions/${id}/reset) or start with staleCheckpoints: rewind`,
      );
      return false;
    }
    const to = verdict.to ?? 0;
    for (const [group, position] of groups)
      if (position > to || verdict.reason === "foreign") await this.log.checkpoints.store(group, to);
    this.rewound.push(verdict);
    this.logger.warn(
      { subscription: id, stale: verdict },
      `subscription checkpoint ${verdict.checkpoint} is stale (${verdict.reason}): rewound to ${verdict.to} (events after it are delivered again)`,
    );
    return true;
  }

  /** Stops dispatching, drains in-flight pushes (up to drainMs), persists checkpoints. */
  async stop(options: { drainMs?: number } = {}): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.mutations.catch(() => {});
    await Promise.all([...this.running.values()].map((r) => r.dispatcher.stop(options.drainMs ?? 5_000)));
    await this.tail.stop();
    await this.flush(true);
    this.pushClient.close();
  }

  isReady(): boolean {
    return this.state === "running";
  }

  /**
   * What the retention pass needs to apply queue mode: every running subscription's mode and matcher
   * (`$` streams never match). Undefined until the persisted subscriptions are loaded.
   */
  retentionView(): RetentionView | undefined {
    if (this.state !== "running") return undefined;
    return [...this.running.values()].map((r) => ({
      id: r.resource.id,
      queue: r.settings.retention === "queue",
      filterKey: JSON.stringify([r.resource.source, r.resource.types, r.resource.filters]),
      matches: (stored: StoredEvent) => !stored.stream.startsWith("$") && safeFilter(r.matcher, stored),
      checkpoint: () => r.dispatcher.checkpoint(),
    }));
  }

  // ---------- resources ----------

  list(): SubscriptionResource[] {
    return [...this.running.values(), ...this.held.values()]
      .map((r) => redact(r.resource))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): SubscriptionResource {
    const held = this.held.get(id);
    if (held !== undefined && this.state !== "stopped") return redact(held.resource);
    return redact(this.find(id).resource);
  }

  /** Creates a subscription (id from the body or generated); resolves its start into a checkpoint. */
  create(body: unknown): Promise<SubscriptionResource> {
    return this.mutate(async () => {
      const givenId = isObject(body) && typeof body.id === "string" ? body.id : undefined;
      const { resource, settings } = parseSubscription(body, givenId ?? randomUUID());
      this.checkSink(resource);
      if (
        this.running.has(resource.id) ||
        this.held.has(resource.id) ||
        (await this.store.get(resource.id))
      ) {
        throw new SubscriptionExistsError(resource.id);
      }
      const checkpoint = await this.resolveStart(settings.start);
      // Queued in this order in one turn: one group commit, and never a resource without its checkpoint.
      await Promise.all([
        this.store.storeCheckpoint(resource.id, checkpoint),
        ...(this.cluster ? [this.store.storeEpoch(resource.id, randomUUID())] : []),
        this.store.put(resource),
      ]);
      await this.run(resource, settings);
      await this.cluster?.resourcesChanged();
      return redact(resource);
    });
  }

  /** Replaces a subscription's definition; delivery continues from its checkpoint (start is not re-applied). */
  update(id: string, body: unknown): Promise<SubscriptionResource> {
    return this.mutate(async () => {
      const current = this.find(id);
      const { resource, settings } = parseSubscription(restoreSecrets(body, current.resource), id);
      this.checkSink(resource);
      await current.dispatcher.stop(1_000);
      await this.flushOne(current);
      this.running.delete(id);
      await this.store.put(resource);
      await this.run(resource, settings, current.counts);
      await this.cluster?.resourcesChanged();
      return redact(resource);
    });
  }

  delete(id: string): Promise<SubscriptionResource> {
    return this.mutate(async () => {
      const held = this.held.get(id);
      if (held !== undefined) {
        this.held.delete(id);
        await clearHeld(this.log, id);
        await this.store.delete(id);
        await this.cluster?.resourcesChanged();
        return redact(held.resource);
      }
      const current = this.find(id);
      this.running.delete(id);
      await current.dispatcher.stop(0);
      this.unregister(current);
      await this.store.delete(id);
      this.metrics.forget(id);
      await this.cluster?.resourcesChanged();
      return redact(current.resource);
    });
  }

  // ---------- consumers ----------

  pull(id: string, max: number, waitMs: number, signal?: AbortSignal): Promise<Message[]> {
    return this.pullDispatcher(id).pull(max, waitMs, signal);
  }

  ack(id: string, ackIds: readonly string[]): AckResult {
    return this.find(id).dispatcher.ack(ackIds);
  }

  nack(id: string, ackIds: readonly string[], delayMs?: number): AckResult {
    return this.find(id).dispatcher.nack(ackIds, delayMs);
  }

  /** Attaches an SSE/WebSocket consumer; call the returned function when the connection ends. */
  attach(id: string, consumer: StreamConsumer): { detach: () => void; resume: () => void } {
    const dispatcher = this.pullDispatcher(id);
    const detach = dispatcher.attach(consumer);
    return { detach, resume: () => dispatcher.resume() };
  }

  /** Settings of a pull subscription (for consumers choosing defaults); throws for push subscriptions. */
  consumerSettings(id: string): DeliverySettings {
    this.pullDispatcher(id);
    return this.find(id).settings;
  }

  async stats(id: string): Promise<SubscriptionStats> {
    const running = this.find(id);
    // Cluster mode: what every instance queued and finished.
    if (running.dispatcher instanceof PartitionedDispatcher) await running.redrive.reloadState();
    const { lag, exact, head } = await this.lag(running);
    const now = Date.now();
    const { progress, since } = running.counts;
    const lagSeconds = lag > 0 ? await this.lagSeconds(running, now) : 0;
    return {
      id,
      lag,
      lagExact: exact,
      inFlight: running.dispatcher.inFlightCount,
      buffered: running.dispatcher.pendingCount,
      checkpoint: running.dispatcher.checkpoint(),
      head,
      delivered: running.counts.delivered,
      retried: running.counts.retried,
      deadLettered: running.counts.deadLettered,
      redrivePending: running.redrive.pendingCount,
      lagSeconds,
      deliveryRate: progress.perSecond(now),
      stalled: lag > 0 && now - (progress.lastAt ?? since) > this.stalledAfterMs,
      lastProgressAt: progress.lastAt === undefined ? null : new Date(progress.lastAt).toISOString(),
    };
  }

  /** Every subscription's stats, sorted by id. */
  async allStats(): Promise<SubscriptionStats[]> {
    const ids = [...this.running.keys()].sort();
    const out: SubscriptionStats[] = [];
    for (const id of ids) {
      try {
        out.push(await this.stats(id));
      } catch (error) {
        // Deleted meanwhile: left out.
        if (!(error instanceof SubscriptionNotFoundError)) throw error;
      }
    }
    return out;
  }

  /** The recent delivery attempts of a subscription, newest first. */
  deliveries(id: string, options: { position?: number; limit: number }): DeliveriesResponse {
    const { ledger } = this.find(id).counts;
    return { deliveries: ledger.list(options), capacity: ledger.capacity };
  }

  /**
   * Age in seconds of the oldest matching event not yet acked: the first one after the checkpoint
   * (every position up to the checkpoint is settled). Rounded to ms.
   */
  private async lagSeconds(running: Running, now: number): Promise<number> {
    const matcher = running.matcher;
    const page = await this.log.read({
      after: running.dispatcher.checkpoint(),
      limit: 1,
      filter: (stored) => !stored.stream.startsWith("$") && safeFilter(matcher, stored),
      scanLimit: LAG_SCAN_LIMIT,
    });
    // Nothing matching within the scan: the first event after the checkpoint bounds the age from above.
    const oldest =
      page.events[0] ?? (await this.log.read({ after: running.dispatcher.checkpoint(), limit: 1 })).events[0];
    if (oldest === undefined) return 0;
    return Math.max(0, Math.round(now - oldest.recordedAt) / 1000);
  }

  private newCounts(): Counts {
    return {
      delivered: 0,
      retried: 0,
      deadLettered: 0,
      ledger: new DeliveryLedger(this.ledgerSize),
      progress: new ProgressRate(),
      since: Date.now(),
    };
  }

  // ---------- dead letters ----------

  /** Lists dead letters by dead-letter stream version, oldest first. */
  deadLetters(
    id: string,
    options: DeadLetterListOptions,
  ): Promise<{ deadLetters: DeadLetterView[]; next: number }> {
    return this.find(id).redrive.list(options);
  }

  /** Queues matching dead letters for redelivery; `dryRun` only counts. Never moves the checkpoint. */
  redrive(id: string, request: unknown): Promise<{ count: number; dryRun: boolean }> {
    return this.mutate(async () => {
      const running = this.find(id);
      const parsed = parseRedrive(request);
      // Cluster mode: what the other instances queued and finished first, so a redrive never
      // queues an entry twice; the entries go to the instances holding their partitions.
      if (running.dispatcher instanceof PartitionedDispatcher)
        this.routeRedriven(running, await running.redrive.refresh());
      const picked = await running.redrive.pick(parsed);
      if (parsed.dryRun) return { count: picked.length, dryRun: true };
      await running.redrive.queue(picked);
      if (running.dispatcher instanceof PartitionedDispatcher) {
        this.routeRedriven(running, picked);
        await this.cluster?.resourcesChanged();
        return { count: picked.length, dryRun: false };
      }
      await this.store.storeRedrive(id, running.redrive.takeState());
      running.dispatcher.addRedriven(picked);
      return { count: picked.length, dryRun: false };
    });
  }

  // ---------- reset ----------

  /**
   * Moves the checkpoint keeping the id, settings, counters, dead letters and redrive state.
   * Leases are revoked (old ack ids answer as unknown, in-flight pushes are abandoned, pull
   * waiters get an empty answer, SSE/WebSocket connections close and reconnect); delivery goes
   * on from the new checkpoint. `dryRun` only answers what it would do.
   */
  reset(id: string, request: unknown): Promise<ResetResponse> {
    return this.mutate(async () => {
      const held = this.held.get(id);
      if (held !== undefined) return this.resetHeld(id, held.resource, request);
      const current = this.find(id);
      const target = parseReset(request);
      const checkpoint = await this.resolveStart(target.start);
      const { count: redeliver, exact } = await this.countAfter(current.matcher, checkpoint);
      const bound = exact ? {} : { redeliverExact: false as const };
      if (target.dryRun) return { id, checkpoint, redeliver, ...bound, dryRun: true };
      await current.dispatcher.revoke();
      // A periodic flush may be storing the old checkpoint right now: let it finish first.
      await this.flushing;
      if (current.redrive.dirty) await this.store.storeRedrive(id, current.redrive.takeState());
      await this.store.storeCheckpoint(id, checkpoint);
      // Cluster mode: a new epoch, so every partition starts again from the reset checkpoint.
      if (this.cluster) await this.store.storeEpoch(id, randomUUID());
      this.unregister(current);
      // The revoked dispatcher answers (empty pulls, unknown acks) until run() replaces it: never a 404.
      try {
        await this.run(current.resource, current.settings, current.counts);
      } catch (error) {
        if (this.running.get(id) === current) this.running.delete(id);
        throw error;
      }
      await this.cluster?.resourcesChanged();
      return { id, checkpoint, redeliver, ...bound, dryRun: false };
    });
  }

  /** Cluster mode: redriven entries go to the partitions held here (the others' holders take theirs). */
  private routeRedriven(running: Running, seeds: readonly EntrySeed[]): void {
    const partitioned = running.dispatcher;
    if (!(partitioned instanceof PartitionedDispatcher) || seeds.length === 0) return;
    for (const { partition, dispatcher } of partitioned.held()) {
      const mine = seeds.filter((seed) => partitionOf(seed.stream, partitioned.partitions) === partition);
      if (mine.length > 0 && !dispatcher.isRevoked) dispatcher.addRedriven(mine);
    }
  }

  /** A held subscription (stale checkpoint): the reset is the operator's decision, so it resumes. */
  private async resetHeld(
    id: string,
    resource: SubscriptionResource,
    request: unknown,
  ): Promise<ResetResponse> {
    const target = parseReset(request);
    const checkpoint = await this.resolveStart(target.start);
    const { count: redeliver, exact } = await this.countAfter(compileMatcher(resource), checkpoint);
    const bound = exact ? {} : { redeliverExact: false as const };
    if (target.dryRun) return { id, checkpoint, redeliver, ...bound, dryRun: true };
    await this.store.storeCheckpoint(id, checkpoint);
    if (this.cluster) await this.store.storeEpoch(id, randomUUID());
    await clearHeld(this.log, id);
    this.held.delete(id);
    this.logger.info({ subscription: id, checkpoint }, "held subscription reset: delivering again");
    await this.run(resource, settingsOf(resource));
    await this.cluster?.resourcesChanged();
    return { id, checkpoint, redeliver, ...bound, dryRun: false };
  }

  /** Matching events after `after` up to the head (what a reset re-delivers). */
  private async countAfter(matcher: EventMatcher, after: number): Promise<{ count: number; exact: boolean }> {
    const head = await this.log.headPosition();
    const filter = (stored: StoredEvent) => !stored.stream.startsWith("$") && safeFilter(matcher, stored);
    let count = 0;
    let scanned = 0;
    const deadline = Date.now() + RESET_COUNT_BUDGET_MS;
    while (after < head) {
      // Past the limits the rest counts as matching: an upper bound, said so (redeliverExact).
      const late = scanned >= RESET_COUNT_MIN && Date.now() > deadline;
      if (scanned >= this.resetCountScan || late) return { count: count + (head - after), exact: false };
      const scanLimit = Math.min(1000, this.resetCountScan - scanned);
      const page = await this.log.read({ after, limit: scanLimit, filter, scanLimit });
      count += page.events.length;
      if (page.next <= after) break;
      scanned += page.next - after;
      after = page.next;
    }
    return { count, exact: true };
  }

  // ---------- internals ----------

  private find(id: string): Running {
    if (this.state === "stopped") throw new SubscriptionManagerStoppedError();
    const held = this.held.get(id);
    if (held !== undefined)
      throw new SubscriptionModeError(
        `subscription ${id} is held: its checkpoint ${held.verdict.checkpoint} is stale (${held.verdict.reason}, the log was restored or copied); reset it with POST /subscriptions/${id}/reset`,
      );
    const running = this.running.get(id);
    if (!running) throw new SubscriptionNotFoundError(id);
    return running;
  }

  private pullDispatcher(id: string): Dispatcher | PartitionedDispatcher {
    const running = this.find(id);
    if (running.resource.sink !== undefined) {
      throw new SubscriptionModeError(`subscription ${id} pushes to its sink; it has no pull consumers`);
    }
    return running.dispatcher;
  }

  private checkSink(resource: SubscriptionResource): void {
    if (resource.sink === undefined) return;
    if (isEngineUrl(resource.sink)) {
      try {
        parseEngineUrl(resource.sink, "sink");
      } catch (error) {
        if (!(error instanceof EngineUrlError)) throw error;
        throw new SubscriptionValidationError(
          [{ field: `/sink#${error.part}`, reason: error.reason }],
          "bridge",
        );
      }
      if (this.bridges === undefined) {
        throw new SubscriptionValidationError(
          [{ field: "/sink#scheme", reason: "this server runs without engine bridges (@herald/bridges)" }],
          "bridge",
        );
      }
    }
    try {
      this.policy.checkUrl(resource.sink);
    } catch (error) {
      throw new SubscriptionValidationError([{ field: "/sink", reason: (error as Error).message }], "sink");
    }
  }

  /** Serializes resource changes so concurrent requests cannot interleave. */
  private mutate<T>(work: () => Promise<T>): Promise<T> {
    if (this.state !== "running") return Promise.reject(new SubscriptionManagerStoppedError());
    const result = this.mutations.then(work);
    this.mutations = result.catch(() => {});
    return result;
  }

  private async resolveStart(start: StartPosition): Promise<number> {
    switch (start.kind) {
      case "beginning":
        return 0;
      case "now":
        return this.log.headPosition();
      case "position":
        return Math.max(0, start.position - 1);
      case "time":
        return Math.max(0, (await this.log.positionAtTime(start.time)) - 1);
    }
  }

  private async run(
    resource: SubscriptionResource,
    settings: DeliverySettings,
    counts: Counts = this.newCounts(),
  ): Promise<void> {
    const id = resource.id;
    const checkpoint = (await this.store.loadCheckpoint(id)) ?? 0;
    const redrive = new Redrive(
      this.log,
      id,
      await this.store.loadRedrive(id),
      this.cluster === undefined
        ? undefined
        : {
            state: this.store.sharedRedrive(id),
            onError: (error) =>
              this.logger.error({ err: error, subscription: id }, "redrive progress not stored"),
          },
    );
    if (this.cluster !== undefined) await redrive.refresh();
    const matcher = compileMatcher(resource);
    const checkpoints = new CheckpointTracker(checkpoint, Date.now());
    const cluster = this.cluster;
    if (cluster !== undefined) {
      // An epoch written by an older build or lost: start one (partitions begin at the checkpoint).
      let epoch = await this.store.loadEpoch(id);
      if (epoch === undefined) {
        epoch = randomUUID();
        await this.store.storeEpoch(id, epoch);
      }
      const partitions = cluster.partitions;
      const running: Running = {
        resource,
        settings,
        matcher,
        checkpoints,
        redrive,
        counts,
        epoch,
        base: checkpoint,
        dispatcher: undefined as unknown as PartitionedDispatcher,
      };
      const partitioned = new PartitionedDispatcher({
        id,
        isPush: resource.sink !== undefined,
        partitions,
        // A pull consumer keeps this instance in the group between its pulls for this long.
        interestMs: Math.max(3 * cluster.leaseMs, settings.ackTimeoutMs),
        host: {
          create: (partition, at, tracker) =>
            this.dispatcherFor(
              resource,
              settings,
              matcher,
              at,
              tracker,
              counts,
              redrive,
              (stream) => partitionOf(stream, partitions) === partition,
            ),
          loadCheckpoint: async (partition) =>
            (await this.store.loadPartitionCheckpoint(id, epoch, partition)) ?? running.base,
          storeCheckpoint: (partition, position) =>
            this.store.storePartitionCheckpoint(id, epoch, partition, position),
          storedCheckpoint: (partition) =>
            this.storedCheckpoints.get(partitionGroup(id, epoch, partition)) ?? running.base,
          redrives: async (partition) =>
            (await redrive.restorePending()).filter(
              (seed) => partitionOf(seed.stream, partitions) === partition,
            ),
          interestChanged: () => cluster.kick(),
          onError: (error, partition) =>
            this.logger.error({ err: error, subscription: id, partition }, "partition not started"),
        },
      });
      running.dispatcher = partitioned;
      this.running.set(id, running);
      cluster.register(id, partitioned);
      return;
    }
    const dispatcher = this.dispatcherFor(
      resource,
      settings,
      matcher,
      checkpoint,
      checkpoints,
      counts,
      redrive,
    );
    const running: Running = {
      resource,
      settings,
      matcher,
      dispatcher,
      checkpoints,
      redrive,
      counts,
      epoch: undefined,
      base: checkpoint,
    };
    this.running.set(id, running);
    dispatcher.start();
    const pending = await redrive.restorePending();
    if (pending.length > 0) dispatcher.addRedriven(pending);
  }

  private unregister(running: Running): void {
    if (running.dispatcher instanceof PartitionedDispatcher)
      this.cluster?.unregister(running.resource.id, running.dispatcher);
  }

  /**
   * Cluster mode: another instance changed the resources. Starts the new ones, restarts the
   * changed ones (definition or epoch) and stops the deleted ones.
   */
  reload(): Promise<void> {
    if (this.state !== "running") return Promise.resolve();
    return this.mutate(async () => {
      const resources = await this.store.list();
      const seen = new Set<string>();
      for (const resource of resources) {
        seen.add(resource.id);
        const current = this.running.get(resource.id);
        // Held here or by another instance (a marker): not delivered until reset.
        const heldBy = this.held.get(resource.id)?.verdict ?? (await loadHeld(this.log, resource.id));
        if (heldBy !== undefined) {
          if (current !== undefined) {
            this.running.delete(resource.id);
            await current.dispatcher.stop(0);
            this.unregister(current);
          }
          this.held.set(resource.id, { resource, verdict: heldBy });
          continue;
        }
        if (this.held.delete(resource.id))
          this.logger.info({ subscription: resource.id }, "held subscription reset elsewhere");
        const epoch = await this.store.loadEpoch(resource.id);
        if (current !== undefined) {
          if (JSON.stringify(current.resource) === JSON.stringify(resource) && current.epoch === epoch) {
            // Unchanged; a redrive elsewhere may have queued entries of partitions held here.
            this.routeRedriven(current, await current.redrive.refresh());
            continue;
          }
          await current.dispatcher.stop(1_000);
          if (current.epoch === epoch) await this.flushOne(current);
          this.unregister(current);
          // The stopped dispatcher answers (empty pulls) until run() replaces it: never a 404.
        }
        try {
          await this.run(resource, settingsOf(resource), current?.counts);
        } catch (error) {
          if (current !== undefined && this.running.get(resource.id) === current)
            this.running.delete(resource.id);
          this.logger.error({ err: error, subscription: resource.id }, "subscription could not be started");
        }
      }
      for (const id of [...this.held.keys()]) if (!seen.has(id)) this.held.delete(id);
      for (const [id, running] of [...this.running]) {
        if (seen.has(id)) continue;
        this.running.delete(id);
        await running.dispatcher.stop(0);
        this.unregister(running);
        this.metrics.forget(id);
      }
    }).catch((error) => this.logger.error({ err: error }, "subscriptions not reloaded"));
  }

  private async refreshStoredCheckpoints(): Promise<void> {
    try {
      this.storedCheckpoints = await this.store.allCheckpoints();
    } catch (error) {
      this.logger.warn({ err: error }, "stored checkpoints not read");
    }
  }

  private dispatcherFor(
    resource: SubscriptionResource,
    settings: DeliverySettings,
    matcher: EventMatcher,
    checkpoint: number,
    checkpoints: CheckpointTracker,
    counts: Counts,
    redrive: Redrive,
    inPartition?: (stream: string) => boolean,
  ): Dispatcher {
    const id = resource.id;
    const target = resource.sink !== undefined ? pushTarget(resource, settings) : undefined;
    // An engine sink is parsed once per dispatcher (it was validated when the subscription was stored).
    const engineSink = target !== undefined && isEngineUrl(target.url) ? parseSink(target.url) : undefined;
    return new Dispatcher(
      {
        id,
        settings,
        filter: resource,
        matcher,
        ...(inPartition !== undefined ? { inPartition } : {}),
        tail: this.tail,
        logger: this.logger,
        observe: {
          delivered: (entry, now) => {
            checkpoints.settled();
            counts.delivered++;
            counts.progress.add(now);
            this.metrics.delivered.inc({ subscription: id });
            this.metrics.latency.observe({ subscription: id }, Math.max(0, now - entry.recordedAt) / 1000);
          },
          retried: () => {
            counts.retried++;
            this.metrics.retried.inc({ subscription: id });
          },
          attempted: (entry, outcome, detail, now) => {
            const latencyMs = Math.max(0, now - (entry.lastAttemptAt ?? now));
            counts.ledger.add({
              position: entry.position,
              stream: entry.stream,
              attempt: entry.deliveryCount,
              outcome,
              ...(detail.status !== undefined ? { status: detail.status } : {}),
              latencyMs,
              ...(outcome !== "acked" && detail.error !== undefined ? { error: detail.error } : {}),
              at: now,
              event: entry.event,
            });
            this.series?.delivery(outcome === "acked", latencyMs);
          },
          deadLettered: () => {
            checkpoints.settled();
            counts.deadLettered++;
            counts.progress.add(Date.now());
            this.metrics.deadLettered.inc({ subscription: id });
          },
        },
        ...(target
          ? {
              push: async (entry: Entry, cancel: PushCancel): Promise<PushOutcome> => {
                let event: CloudEvent;
                try {
                  event = entry.event();
                } catch (error) {
                  return { kind: "reject", failure: { error: `event cannot be decoded: ${String(error)}` } };
                }
                if (engineSink !== undefined)
                  return this.bridgeAttempt(id, target, engineSink, event, cancel);
                const result = await this.pushClient.attempt(target, event, entry.position, cancel);
                if (result.kind === "ack" && result.reply) {
                  try {
                    await this.ingestReply(result.reply, event);
                  } catch (error) {
                    return {
                      kind: "retry",
                      failure: { status: result.status, error: `reply not stored: ${String(error)}` },
                    };
                  }
                }
                return result;
              },
            }
          : {}),
        deadLetter: async (entry, reason) => {
          await this.log.append([deadLetterEvent(id, entry, reason)], { stream: deadLetterStream(id) });
        },
        redriveDone: (version) => redrive.done(version),
      },
      checkpoint,
    );
  }

  /** One attempt to an engine sink, answered like a webhook attempt (same retry and dead-letter model). */
  private async bridgeAttempt(
    id: string,
    target: PushTarget,
    sink: EngineUrl | Error,
    event: CloudEvent,
    cancel: PushCancel,
  ): Promise<PushOutcome> {
    if (this.bridges === undefined) {
      return {
        kind: "retry",
        failure: { error: "this server runs without engine bridges (@herald/bridges)" },
      };
    }
    if (sink instanceof Error)
      return { kind: "reject", failure: { error: `invalid engine sink: ${sink.message}` } };
    const outcome = await this.bridges.publish(
      { subscriptionId: id, sink, contentMode: target.contentMode, timeoutMs: target.timeoutMs },
      event,
      cancel,
    );
    if (outcome.kind === "ack") return { kind: "ack", status: 200 };
    return { kind: outcome.kind, failure: { error: outcome.error } };
  }

  /** A sink's reply becomes a new event, caused by (and correlated with) the delivered one. */
  private async ingestReply(reply: CloudEvent, delivered: CloudEvent): Promise<void> {
    const attributes = delivered as unknown as Record<string, unknown>;
    const replyAttributes = reply as unknown as Record<string, unknown>;
    // As the SDK does: the conversation's id, or the delivered event's id when it started one.
    const correlation = replyAttributes.correlationid ?? attributes.correlationid ?? delivered.id;
    const event = reply.cloneWith({
      causationid: delivered.id,
      ...(typeof correlation === "string" ? { correlationid: correlation } : {}),
    });
    if (deriveStream(event).startsWith("$")) {
      this.logger.warn({ id: event.id }, "reply to a system stream dropped");
      return;
    }
    await this.log.append([event]);
  }

  /**
   * Stores the checkpoints worth storing (see checkpoints.ts), all at once so they share one commit.
   * `all`: every moved checkpoint (shutdown).
   */
  private flush(all = false): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const now = Date.now();
      let idle = 0;
      const writes: Array<Promise<void>> = [];
      const take = (tracker: CheckpointTracker, position: number): boolean => {
        const due = tracker.due(position, now, this.checkpointPolicy.idleMs);
        return (
          due === "urgent" ||
          (due !== undefined && all) ||
          (due === "stale" && idle++ < this.checkpointPolicy.idleBatch)
        );
      };
      for (const running of this.running.values()) {
        if (running.dispatcher instanceof PartitionedDispatcher) {
          writes.push(this.flushPartitions(running, running.dispatcher, take, now));
          continue;
        }
        writes.push(this.flushOne(running, take(running.checkpoints, running.dispatcher.checkpoint()), now));
      }
      await Promise.all(writes);
    });
    return this.flushing;
  }

  /** Cluster mode: each held partition's checkpoint, in its own group. */
  private async flushPartitions(
    running: Running,
    partitioned: PartitionedDispatcher,
    take: (tracker: CheckpointTracker, position: number) => boolean,
    now: number,
  ): Promise<void> {
    const id = running.resource.id;
    const epoch = running.epoch;
    if (epoch === undefined || this.running.get(id) !== running || partitioned.isRevoked) return;
    try {
      const writes: Array<Promise<void>> = [];
      for (const { partition, dispatcher, tracker } of partitioned.held()) {
        const position = dispatcher.checkpoint();
        if (dispatcher.isRevoked || !take(tracker, position)) continue;
        tracker.stored(position, now);
        writes.push(this.store.storePartitionCheckpoint(id, epoch, partition, position));
      }
      await Promise.all(writes);
    } catch (error) {
      this.logger.error({ err: error, subscription: id }, "checkpoint not stored");
    }
  }

  private async flushOne(running: Running, storeCheckpoint = true, now = Date.now()): Promise<void> {
    if (running.dispatcher instanceof PartitionedDispatcher) {
      const partitioned = running.dispatcher;
      return this.flushPartitions(
        running,
        partitioned,
        (tracker, position) => storeCheckpoint && tracker.due(position, now, 0) !== undefined,
        now,
      );
    }
    const id = running.resource.id;
    try {
      const current = this.running.get(id) === running && !running.dispatcher.isRevoked;
      const checkpoint = running.dispatcher.checkpoint();
      const writes: Array<Promise<void>> = [];
      if (storeCheckpoint && current) {
        running.checkpoints.stored(checkpoint, now);
        writes.push(this.store.storeCheckpoint(id, checkpoint));
      }
      if (running.redrive.dirty) writes.push(this.store.storeRedrive(id, running.redrive.takeState()));
      await Promise.all(writes);
    } catch (error) {
      this.logger.error({ err: error, subscription: id }, "checkpoint not stored");
    }
  }

  private async lag(running: Running): Promise<{ lag: number; exact: boolean; head: number }> {
    const head = await this.log.headPosition();
    let lag = running.dispatcher.pendingCount;
    let after = running.dispatcher.readUpTo;
    let scanned = 0;
    const matcher = running.matcher;
    const filter = (stored: StoredEvent) => !stored.stream.startsWith("$") && matcher(stored.event);
    while (after < head) {
      if (scanned >= LAG_SCAN_LIMIT) return { lag: lag + (head - after), exact: false, head };
      const scanLimit = Math.min(1000, LAG_SCAN_LIMIT - scanned);
      const page = await this.log.read({ after, limit: scanLimit, filter, scanLimit });
      lag += page.events.length;
      if (page.next <= after) break;
      scanned += page.next - after;
      after = page.next;
    }
    return { lag, exact: true, head };
  }

  private snapshot(): Promise<Array<{ id: string; lag: number; inFlight: number }>> {
    const now = Date.now();
    if (this.snapshotCache && now - this.snapshotCache.at < 500) return this.snapshotCache.value;
    const value = Promise.all(
      [...this.running.values()].map(async (running) => ({
        id: running.resource.id,
        lag: (await this.lag(running).catch(() => ({ lag: running.dispatcher.pendingCount }))).lag,
        inFlight: running.dispatcher.inFlightCount,
      })),
    );
    this.snapshotCache = { at: now, value };
    return value;
  }
}

function safeFilter(matcher: EventMatcher, stored: StoredEvent): boolean {
  try {
    return matcher(stored.event);
  } catch {
    return false;
  }
}

function parseSink(url: string): EngineUrl | Error {
  try {
    return parseEngineUrl(url, "sink");
  } catch (error) {
    return error as Error;
  }
}
