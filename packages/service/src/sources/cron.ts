// Cron sources. croner computes the schedule (timezone, DST); this module decides when to fire:
// - every firing is a CloudEvent whose id is a hash of job name, schedule, timezone and scheduled time,
//   so every instance of the app builds the same event for the same slot and the broker keeps one;
// - no overlap by default: a slot due while the previous run still runs is skipped (logged, counted);
// - after downtime (the state store knows the last slot fired): `skip` the missed slots, or
//   `fire-once` for the latest of them;
// - `local` delivery runs the handler here (retried with backoff, then logged and counted as failed);
//   `broker` delivery publishes the firing to a stream and the app's pull subscription runs it once.
// Time comes from a Clock, so tests drive schedules without waiting.
import { createHash } from "node:crypto";
import { CloudEvent } from "@herald/cloudevents";
import { backoffDelay, HeraldApiError, type HeraldClient, UnitOfWork } from "@herald/sdk";
import { Cron } from "croner";
import type { CronDefinition, CronFiring } from "../definition.js";
import type { Outcomes } from "../outcomes.js";

/** The CloudEvents type of a cron firing. */
export const CRON_FIRED_TYPE = "dev.herald.cron.fired";

export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; the returned function cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    // setTimeout caps at ~24.8 days: re-arm for longer waits.
    const MAX = 2 ** 31 - 1;
    let timer: NodeJS.Timeout;
    const arm = (left: number) => {
      timer = setTimeout(() => (left > MAX ? arm(left - MAX) : fn()), Math.min(left, MAX));
    };
    arm(Math.max(0, ms));
    return () => clearTimeout(timer);
  },
};

/** Remembers the last slot fired per job (what `missed` compares with after a restart). */
export interface CronState {
  lastFired(job: string): Promise<Date | undefined>;
  fired(job: string, scheduled: Date): Promise<void>;
}

export class MemoryCronState implements CronState {
  readonly #last = new Map<string, Date>();
  async lastFired(job: string): Promise<Date | undefined> {
    return this.#last.get(job);
  }
  async fired(job: string, scheduled: Date): Promise<void> {
    this.#last.set(job, scheduled);
  }
}

/** Broker delivery: the last firing in the stream is the last slot fired (shared by every instance). */
export class StreamCronState implements CronState {
  readonly #client: HeraldClient;
  readonly #stream: string;
  constructor(client: HeraldClient, stream: string) {
    this.#client = client;
    this.#stream = stream;
  }
  async lastFired(job: string): Promise<Date | undefined> {
    try {
      // The stream may hold several jobs' firings: look back a page for this job's latest.
      const page = await this.#client.readStream(this.#stream, { direction: "backwards", limit: 100 });
      for (const entry of page.events) {
        if (entry.event.source !== cronSource(job)) continue;
        const data = entry.event.data as Partial<CronFiring> | undefined;
        if (typeof data?.scheduledTime === "string") return new Date(data.scheduledTime);
      }
      return undefined;
    } catch (error) {
      if (error instanceof HeraldApiError && error.status === 404) return undefined;
      throw error;
    }
  }
  async fired(): Promise<void> {
    // The published firing is the record.
  }
}

export function cronSource(job: string): string {
  return `/herald/cron/${encodeURIComponent(job)}`;
}

/** The same id on every instance for the same job and slot. */
export function cronFiringId(job: string, schedule: string, timezone: string, scheduled: Date): string {
  return createHash("sha256")
    .update(`${job}\n${schedule}\n${timezone}\n${scheduled.toISOString()}`)
    .digest("hex")
    .slice(0, 32);
}

export function cronFiringEvent(definition: CronDefinition, scheduled: Date): CloudEvent<CronFiring> {
  const { schedule, timezone } = definition.trigger;
  return new CloudEvent<CronFiring>({
    id: cronFiringId(definition.name, schedule, timezone, scheduled),
    source: cronSource(definition.name),
    type: CRON_FIRED_TYPE,
    subject: definition.name,
    time: scheduled.toISOString(),
    datacontenttype: "application/json",
    data: { schedule, timezone, scheduledTime: scheduled.toISOString() },
  });
}

export interface CronJobOptions {
  readonly clock: Clock;
  readonly state: CronState;
  readonly outcomes: Outcomes;
  readonly client: HeraldClient | undefined;
}

export class CronJob {
  readonly definition: CronDefinition;
  readonly #options: CronJobOptions;
  readonly #cron: Cron;
  readonly #stopping = new AbortController();
  readonly #running = new Set<Promise<void>>();
  #cancel: (() => void) | undefined;
  #stopped = false;

  constructor(definition: CronDefinition, options: CronJobOptions) {
    this.definition = definition;
    this.#options = options;
    // Paused and without a function: croner only computes the schedule; the timer is ours.
    this.#cron = new Cron(definition.trigger.schedule, {
      timezone: definition.trigger.timezone,
      paused: true,
    });
    if (definition.deliver.mode === "broker" && !options.client)
      throw new TypeError(`${definition.key}: broker delivery needs the app's client`);
  }

  /** The next slot after `from` (croner; undefined when the schedule has no more). */
  nextAfter(from: Date): Date | undefined {
    return this.#cron.nextRun(from) ?? undefined;
  }

  async start(): Promise<void> {
    const now = new Date(this.#options.clock.now());
    const last = await this.#options.state.lastFired(this.definition.name);
    if (last !== undefined && this.definition.missed === "fire-once") {
      // The latest slot in (last, now]: the run the downtime swallowed.
      let missed: Date | undefined;
      for (let slot = this.nextAfter(last); slot !== undefined && slot <= now; slot = this.nextAfter(slot))
        missed = slot;
      if (missed !== undefined) {
        this.#options.outcomes.count(this.definition.key, "missed-fired", {
          scheduledTime: missed.toISOString(),
        });
        this.#fire(missed);
      }
    }
    this.#arm(now);
  }

  /** Stops the timer and waits for running firings. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancel?.();
    this.#stopping.abort(new Error("app stopping"));
    await Promise.all(this.#running);
  }

  #arm(after: Date): void {
    if (this.#stopped) return;
    const next = this.nextAfter(after);
    if (next === undefined) return;
    this.#cancel = this.#options.clock.setTimer(() => {
      this.#fire(next);
      this.#arm(next);
    }, next.getTime() - this.#options.clock.now());
  }

  #fire(scheduled: Date): void {
    const { outcomes } = this.#options;
    if (
      this.definition.overlap === "skip" &&
      this.definition.deliver.mode === "local" &&
      this.#running.size > 0
    ) {
      outcomes.count(this.definition.key, "overlap-skipped", { scheduledTime: scheduled.toISOString() });
      return;
    }
    const run = this.#deliver(cronFiringEvent(this.definition, scheduled))
      .catch((error: unknown) => outcomes.error(this.definition.key, error))
      .finally(() => this.#running.delete(run));
    this.#running.add(run);
  }

  async #deliver(event: CloudEvent<CronFiring>): Promise<void> {
    const scheduled = new Date(event.data!.scheduledTime);
    const deliver = this.definition.deliver;
    if (deliver.mode === "broker") {
      const result = await this.#options.client!.send(event, { stream: deliver.stream });
      if (!result.ok) throw new Error(`publishing the firing ${event.id} failed: ${JSON.stringify(result)}`);
      await this.#options.state.fired(this.definition.name, scheduled);
      return;
    }
    await this.#options.state.fired(this.definition.name, scheduled);
    const maxAttempts = deliver.maxAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      const work = new UnitOfWork(event, { attempt, signal: this.#stopping.signal, transport: "direct" });
      try {
        await this.definition.handler(event, work.context);
        if (work.outbox.length > 0) {
          if (!this.#options.client) throw new Error("the handler emitted events but the app has no client");
          const sent = await this.#options.client.sendBatch(work.outbox);
          if (!sent.ok) throw new Error("publishing the handler's events failed");
        }
        await work.commit();
        this.#options.outcomes.count(this.definition.key, "handled");
        return;
      } catch (error) {
        await work.abort(error as Error);
        if (attempt >= maxAttempts || this.#stopped) {
          this.#options.outcomes.count(this.definition.key, "failed", {
            id: event.id,
            scheduledTime: event.data!.scheduledTime,
            attempts: attempt,
            error: (error as Error).message,
          });
          return;
        }
        await new Promise<void>((resolve) =>
          this.#options.clock.setTimer(resolve, backoffDelay(attempt, { baseMs: 1_000, capMs: 30_000 })),
        );
      }
    }
  }
}
