// One subscription's dead letters and their redrive: listing the dead-letter stream, picking what a
// redrive request selects, and remembering which versions are queued for redelivery (pending) and
// which were ever redriven, so a restart re-queues the pending ones and a redrive skips the others.
import type { CloudEvent } from "@herald/cloudevents";
import type { EventLog, StoredEvent } from "@herald/log";
import type { DeadLetterReason, RedriveRequest } from "@herald/protocol";
import { type DeadLetterData, type DeadLetterView, originalEvent, readDeadLetter } from "./dead-letters.js";
import { SubscriptionValidationError, type ValidationIssue } from "./errors.js";
import { compileMatcher, type EventMatcher, validateFilters } from "./filters.js";
import { isObject } from "./model.js";
import { deadLetterStream, type RedriveState } from "./store.js";
import type { EntrySeed } from "./window.js";

const PAGE = 500;

export interface DeadLetterListOptions {
  readonly after?: number;
  readonly limit?: number;
  readonly reason?: DeadLetterReason;
  /** Over the original event. */
  readonly match?: (event: CloudEvent) => boolean;
}

function matchesSafely(match: (event: CloudEvent) => boolean, data: DeadLetterData): boolean {
  try {
    return match(originalEvent(data));
  } catch {
    return false;
  }
}

/**
 * Cluster mode: the redrive state shared by the instances, one record per dead-letter version (so
 * two instances finishing different entries never overwrite each other's progress).
 */
export interface SharedRedriveState {
  load(): Promise<RedriveState>;
  /** The picked versions are pending (and redriven). */
  queue(versions: readonly number[]): Promise<void>;
  /** One version finished. */
  done(version: number): Promise<void>;
}

export class Redrive {
  readonly #log: EventLog;
  readonly #stream: string;
  readonly #pending: Set<number>;
  readonly #redriven: Set<number>;
  /** The state changed since it was last taken for storing. */
  #dirty = false;
  readonly #shared: SharedRedriveState | undefined;
  /** Cluster mode: versions finished here (a refresh may still read them as pending). */
  readonly #finished = new Set<number>();
  readonly #onError: (error: unknown) => void;

  constructor(
    log: EventLog,
    subscription: string,
    saved: RedriveState,
    shared?: { state: SharedRedriveState; onError: (error: unknown) => void },
  ) {
    this.#log = log;
    this.#stream = deadLetterStream(subscription);
    this.#pending = new Set(saved.pending);
    this.#redriven = new Set(saved.redriven);
    this.#shared = shared?.state;
    this.#onError = shared?.onError ?? (() => {});
  }

  /**
   * Cluster mode: reads the shared state (what other instances queued and finished); answers the
   * pending entries, to be handed to the partitions held here (a window ignores entries it has).
   */
  async refresh(): Promise<EntrySeed[]> {
    if (this.#shared === undefined) return [];
    await this.reloadState();
    return this.restorePending();
  }

  /** Cluster mode: the shared state only (the pending count and what was ever redriven). */
  async reloadState(): Promise<void> {
    if (this.#shared === undefined) return;
    const state = await this.#shared.load();
    this.#pending.clear();
    for (const version of state.pending) if (!this.#finished.has(version)) this.#pending.add(version);
    for (const version of state.redriven) this.#redriven.add(version);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  get dirty(): boolean {
    return this.#shared === undefined && this.#dirty;
  }

  /** The state to store (it counts as stored from now on). */
  takeState(): RedriveState {
    this.#dirty = false;
    return { pending: [...this.#pending], redriven: [...this.#redriven] };
  }

  /** A redriven entry finished (acked or dead-lettered again). */
  done(version: number): void {
    this.#pending.delete(version);
    this.#dirty = true;
    if (this.#shared !== undefined) {
      this.#finished.add(version);
      this.#shared.done(version).catch(this.#onError);
    }
  }

  /**
   * Dead letters by dead-letter stream version, oldest first. `reason` and `match` (over the original
   * event) keep only some of the `limit` scanned, so a filtered page may be short; `next` moves on.
   */
  async list(options: DeadLetterListOptions): Promise<{ deadLetters: DeadLetterView[]; next: number }> {
    const from = (options.after ?? -1) + 1;
    const stored = await this.#log.readStream(this.#stream, { from, limit: options.limit ?? 100 });
    const deadLetters: DeadLetterView[] = [];
    let next = options.after ?? -1;
    for (const s of stored) {
      next = s.version;
      const data = readDeadLetter(s);
      if (data && options.reason !== undefined && data.reason !== options.reason) continue;
      if (data && options.match !== undefined && !matchesSafely(options.match, data)) continue;
      if (data)
        deadLetters.push({
          ...data,
          version: s.version,
          deadLetterPosition: s.position,
          redriven: this.#redriven.has(s.version),
        });
    }
    return { deadLetters, next };
  }

  /** The dead letters a (parsed) request selects, not already pending, as entries to deliver again. */
  async pick(request: RedriveRequest): Promise<EntrySeed[]> {
    const matcher = request.filters ? compileMatcher({ filters: request.filters }) : undefined;
    const picked: EntrySeed[] = [];
    for (let from = 0; ; ) {
      const page = await this.#log.readStream(this.#stream, { from, limit: PAGE });
      for (const stored of page) {
        const data = readDeadLetter(stored);
        if (!data || this.#pending.has(stored.version)) continue;
        if (!request.includeRedriven && this.#redriven.has(stored.version)) continue;
        if (request.from !== undefined && data.position < request.from) continue;
        if (request.to !== undefined && data.position > request.to) continue;
        if (matcher && !safeMatch(matcher, data)) continue;
        picked.push(seedOf(stored, data));
      }
      if (page.length < PAGE) break;
      from = page[page.length - 1]!.version + 1;
    }
    return picked;
  }

  /** The picked entries are queued for redelivery (cluster mode: stored when this resolves). */
  async queue(picked: readonly EntrySeed[]): Promise<void> {
    const versions: number[] = [];
    for (const seed of picked) {
      if (seed.redrive === undefined) continue;
      versions.push(seed.redrive);
      this.#pending.add(seed.redrive);
      this.#redriven.add(seed.redrive);
      this.#finished.delete(seed.redrive);
    }
    this.#dirty = true;
    await this.#shared?.queue(versions);
  }

  /** After a restart: the pending redrives, read back from the dead-letter stream. */
  async restorePending(): Promise<EntrySeed[]> {
    const entries: EntrySeed[] = [];
    for (const version of [...this.#pending].sort((a, b) => a - b)) {
      const [stored] = await this.#log.readStream(this.#stream, { from: version, limit: 1 });
      const data = stored && stored.version === version ? readDeadLetter(stored) : undefined;
      if (stored && data) entries.push(seedOf(stored, data));
      else this.done(version);
    }
    // Entries may have finished while the stream was read (they are done: not to deliver again).
    return entries.filter((entry) => entry.redrive !== undefined && this.#pending.has(entry.redrive));
  }
}

function seedOf(stored: StoredEvent, data: DeadLetterData): EntrySeed {
  let decoded: CloudEvent | undefined;
  return {
    position: data.position,
    stream: data.stream,
    json: JSON.stringify(data.event),
    recordedAt: stored.recordedAt,
    redrive: stored.version,
    event: () => (decoded ??= originalEvent(data)),
  };
}

function safeMatch(matcher: EventMatcher, data: DeadLetterData): boolean {
  try {
    return matcher(originalEvent(data));
  } catch {
    return false;
  }
}

export function parseRedrive(body: unknown): RedriveRequest {
  const issues: ValidationIssue[] = [];
  const request = body === undefined ? {} : body;
  if (!isObject(request))
    throw new SubscriptionValidationError([{ field: "", reason: "must be a JSON object" }], "redrive");
  for (const key of Object.keys(request)) {
    if (!["from", "to", "filters", "dryRun", "includeRedriven"].includes(key)) {
      issues.push({ field: `/${key}`, reason: "unknown member" });
    }
  }
  for (const key of ["from", "to"] as const) {
    const v = request[key];
    if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 0)) {
      issues.push({ field: `/${key}`, reason: "must be a log position (integer ≥ 0)" });
    }
  }
  for (const key of ["dryRun", "includeRedriven"] as const) {
    if (request[key] !== undefined && typeof request[key] !== "boolean") {
      issues.push({ field: `/${key}`, reason: "must be a boolean" });
    }
  }
  if (request.filters !== undefined) {
    if (!Array.isArray(request.filters)) issues.push({ field: "/filters", reason: "must be an array" });
    else validateFilters(request.filters, "/filters", issues);
  }
  if (issues.length > 0) throw new SubscriptionValidationError(issues, "redrive");
  return request as RedriveRequest;
}
