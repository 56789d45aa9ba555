// Test events for fixtures that run in child processes (which must not load node:test).
import { CloudEvent } from "@herald/cloudevents";

export function event(source: string, id: string, partitionkey?: string): CloudEvent {
  return new CloudEvent({
    source,
    id,
    type: "com.example.tested",
    ...(partitionkey === undefined ? {} : { partitionkey }),
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
