// Durable timers. A step's timeout becomes a timer event (type herald.workflow.timeout) with a
// deterministic source+id, stored in the instance's stream with the step and handed to a
// TimerScheduler when the step is dispatched. The event comes back to the process manager when it is
// due; it is handled only while the instance is still in the status entry that scheduled it.
import { type CloudEvent, DELIVERAT } from "@herald/cloudevents";
import { type HeraldClient, SendFailedError } from "@herald/sdk";
import type { TimerData } from "./types.js";

/** CloudEvents type of every timer event. */
export const TIMER_EVENT_TYPE = "herald.workflow.timeout";

/**
 * Where timer events wait until they are due. Both calls may be repeated with the same timer (after a
 * crash between store and dispatch): scheduling the same source+id twice must fire it once.
 */
export interface TimerScheduler {
  /** Durably stores `timer` to come back to the process manager's subscription not before `at`. */
  schedule(timer: CloudEvent, at: Date): Promise<void>;
  /** Best effort: a timer that fires anyway is ignored when its entry is gone. */
  cancel(timer: { readonly source: string; readonly id: string }): Promise<void>;
}

/** A clock (the test clock replaces it in given/when/then). */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The data of a timer event, or undefined when it is not one. */
export function timerData(event: CloudEvent): TimerData | undefined {
  if (event.type !== TIMER_EVENT_TYPE) return undefined;
  const data = event.data as Partial<TimerData> | undefined;
  if (
    typeof data?.process !== "string" ||
    typeof data.key !== "string" ||
    typeof data.name !== "string" ||
    typeof data.status !== "string" ||
    typeof data.entry !== "number" ||
    typeof data.at !== "string"
  )
    return undefined;
  return data as TimerData;
}

/**
 * Timers over `herald serve`'s scheduled delivery: the timer is published at once with the
 * `deliverat` extension (stored, delivered to subscriptions not before that time; the broker's
 * source+id dedupe makes a repeated schedule one timer), cancelled with `DELETE /scheduled`.
 * A broker that delivers it early is covered too: the process manager nacks an early timer with a
 * delay until it is due (see ProcessManager).
 */
export function heraldTimers(client: HeraldClient): TimerScheduler {
  return {
    async schedule(timer, at) {
      const result = await client.send(timer.cloneWith({ [DELIVERAT]: at.toISOString() }));
      if (result.kind !== "ack") throw new SendFailedError(result);
    },
    async cancel(timer) {
      // "released" or "unknown" is fine: the process manager ignores a timer of a status it left.
      await client.cancelScheduled({ source: timer.source, id: timer.id });
    },
  };
}
