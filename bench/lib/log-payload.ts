// The bench events: ~300 bytes in the CloudEvents JSON format, built before timing starts.
import { CloudEvent, encodeJsonEvent } from "@herald/cloudevents";

export function benchEvents(count: number, tag: string): CloudEvent[] {
  const pad = "x".repeat(150);
  const events: CloudEvent[] = new Array(count);
  for (let i = 0; i < count; i++) {
    events[i] = new CloudEvent({
      id: `${tag}-${i}`,
      source: `/bench/producer-${i % 100}`,
      type: "com.example.bench.measured",
      datacontenttype: "application/json",
      time: "2026-11-25T09:00:00.000Z",
      partitionkey: `key-${i % 100}`,
      data: { seq: i, pad },
    });
  }
  return events;
}

export function encode(event: CloudEvent): string {
  return encodeJsonEvent(event);
}
