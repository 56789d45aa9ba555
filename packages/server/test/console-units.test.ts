// Units behind the console's endpoints: the health series ring (buckets, rollover, percentiles) on a
// fake clock, the bounded delivery ledger and the progress rate.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { HealthSeries, SERIES_INTERVAL_MS } from "../src/observability/series.js";
import { DeliveryLedger, type LedgerRecord, ProgressRate } from "../src/subscriptions/ledger.js";

describe("HealthSeries", () => {
  it("counts per 5 s bucket, oldest first, with empty buckets as zeros and null percentiles", () => {
    let now = 1_000 * SERIES_INTERVAL_MS + 100;
    const series = new HealthSeries(() => now);
    series.ingested(10);
    for (let i = 1; i <= 100; i++) series.appendLatency(i);
    series.delivery(true, 2);
    series.delivery(false, 50);
    now += 2 * SERIES_INTERVAL_MS;
    series.ingested(3);
    const points = series.points(1);
    assert.equal(points.length, 12);
    const last = points[points.length - 1]!;
    const first = points[points.length - 3]!;
    assert.equal(last.t, 1_002 * SERIES_INTERVAL_MS);
    assert.deepEqual([first.ingested, first.ingestRate, first.delivered, first.failed], [10, 2, 1, 1]);
    // Percentiles are class bounds ≈ 12 % wide: p50 of 1..100 ms is about 50, p99 about 99.
    assert.ok(first.ingestP50Ms! >= 50 && first.ingestP50Ms! < 57, `p50 ${first.ingestP50Ms}`);
    assert.ok(first.ingestP99Ms! >= 99 && first.ingestP99Ms! < 112, `p99 ${first.ingestP99Ms}`);
    assert.ok(first.deliveryP50Ms! >= 2 && first.deliveryP50Ms! < 2.3);
    const between = points[points.length - 2]!;
    assert.deepEqual([between.ingested, between.ingestP50Ms, between.deliveryP99Ms], [0, null, null]);
    assert.deepEqual([last.ingested, last.ingestP50Ms], [3, null]);
  });

  it("forgets a bucket when its slot comes round again an hour later", () => {
    let now = 5 * SERIES_INTERVAL_MS;
    const series = new HealthSeries(() => now);
    series.ingested(7);
    now += 60 * 60_000;
    assert.equal(
      series.points(60).reduce((sum, p) => sum + p.ingested, 0),
      0,
    );
    series.ingested(1);
    assert.equal(series.points(1).at(-1)!.ingested, 1);
  });
});

describe("DeliveryLedger", () => {
  const attempt = (position: number, n: number): LedgerRecord => ({
    position,
    stream: "s",
    attempt: n,
    outcome: "retry",
    latencyMs: 1,
    at: 0,
    event: () => new CloudEvent({ id: `e-${position}`, source: "/s", type: "t" }),
  });

  it("keeps the newest `capacity` attempts, newest first, filtered by position", () => {
    const ledger = new DeliveryLedger(3);
    assert.deepEqual(ledger.list({ limit: 10 }), []);
    ledger.add(attempt(1, 1));
    ledger.add(attempt(2, 1));
    ledger.add(attempt(1, 2));
    ledger.add(attempt(3, 1));
    assert.deepEqual(
      ledger.list({ limit: 10 }).map((a) => [a.position, a.attempt]),
      [
        [3, 1],
        [1, 2],
        [2, 1],
      ],
    );
    assert.deepEqual(ledger.list({ limit: 10, position: 1 }), [
      {
        position: 1,
        eventId: "e-1",
        source: "/s",
        stream: "s",
        attempt: 2,
        outcome: "retry",
        latencyMs: 1,
        at: "1970-01-01T00:00:00.000Z",
      },
    ]);
    assert.equal(ledger.list({ limit: 1 }).length, 1);
    assert.throws(() => new DeliveryLedger(0), RangeError);
  });
});

describe("ProgressRate", () => {
  it("averages events per second over the last minute", () => {
    const rate = new ProgressRate();
    assert.equal(rate.perSecond(10_000), 0);
    for (let i = 0; i < 60; i++) rate.add(10_000 + i * 1000, 2);
    assert.equal(rate.perSecond(69_500), 2);
    assert.equal(rate.lastAt, 69_000);
    // A minute later only the newest seconds still count.
    assert.equal(rate.perSecond(69_500 + 59_000), Math.round((2 / 60) * 1000) / 1000);
    assert.equal(rate.perSecond(69_500 + 120_000), 0);
  });
});
