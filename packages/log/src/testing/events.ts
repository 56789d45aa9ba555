// Test events. The only place the log's tests (and the contract suite) build CloudEvents, so the event
// model can change in one spot.
import { CloudEvent, type CloudEventInit } from "@herald/cloudevents";

export interface TestEventInit {
  readonly source?: string;
  readonly id?: string;
  readonly type?: string;
  readonly subject?: string;
  readonly partitionkey?: string;
  readonly causationid?: string;
  readonly correlationid?: string;
  readonly data?: unknown;
}

let counter = 0;

export function testEvent(init: TestEventInit = {}): CloudEvent {
  counter += 1;
  const event: CloudEventInit = {
    id: init.id ?? `evt-${process.pid}-${counter}`,
    source: init.source ?? "/test",
    type: init.type ?? "com.example.tested",
  };
  if (init.subject !== undefined) event["subject"] = init.subject;
  if (init.partitionkey !== undefined) event["partitionkey"] = init.partitionkey;
  if (init.causationid !== undefined) event["causationid"] = init.causationid;
  if (init.correlationid !== undefined) event["correlationid"] = init.correlationid;
  if (init.data !== undefined) event["data"] = init.data;
  return new CloudEvent(event);
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
