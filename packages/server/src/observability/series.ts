// Health series for the console's charts: ingest and delivery counts and latency percentiles in 5 s
// buckets over the last hour, in a ring (no timer: a bucket is reset when its slot is reused).
// Percentiles come from a log-scale histogram per bucket (≈ 12 % wide classes), precise enough to draw.
import type { SeriesPoint } from "@herald/protocol";

export const SERIES_INTERVAL_MS = 5000;
export const SERIES_MINUTES = 60;
const SLOTS = (SERIES_MINUTES * 60_000) / SERIES_INTERVAL_MS;
/** Histogram classes: class k holds latencies up to MIN_MS · GROWTH^k (the last one everything above). */
const CLASSES = 128;
const MIN_MS = 0.05;
const GROWTH = 1.12;
const LOG_GROWTH = Math.log(GROWTH);

interface Bucket {
  start: number;
  ingested: number;
  delivered: number;
  failed: number;
  ingestLatency: Uint32Array | undefined;
  deliveryLatency: Uint32Array | undefined;
}

export class HealthSeries {
  readonly #buckets: Bucket[] = [];
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
    for (let i = 0; i < SLOTS; i++)
      this.#buckets.push({
        start: -1,
        ingested: 0,
        delivered: 0,
        failed: 0,
        ingestLatency: undefined,
        deliveryLatency: undefined,
      });
  }

  /** Events newly stored by one ingest request. */
  ingested(count: number): void {
    if (count > 0) this.#bucket().ingested += count;
  }

  /** One log append: ms until durable. */
  appendLatency(ms: number): void {
    const bucket = this.#bucket();
    bucket.ingestLatency ??= new Uint32Array(CLASSES);
    bucket.ingestLatency[classOf(ms)]!++;
  }

  /** One delivery attempt: acked (with its latency) or failed. */
  delivery(acked: boolean, latencyMs: number): void {
    const bucket = this.#bucket();
    if (!acked) {
      bucket.failed++;
      return;
    }
    bucket.delivered++;
    bucket.deliveryLatency ??= new Uint32Array(CLASSES);
    bucket.deliveryLatency[classOf(latencyMs)]!++;
  }

  /** The last `minutes` of buckets, oldest first, the current (partial) bucket last. */
  points(minutes: number): SeriesPoint[] {
    const current = Math.floor(this.#now() / SERIES_INTERVAL_MS);
    const count = Math.min(SLOTS, Math.ceil((minutes * 60_000) / SERIES_INTERVAL_MS));
    const seconds = SERIES_INTERVAL_MS / 1000;
    const out: SeriesPoint[] = [];
    for (let index = current - count + 1; index <= current; index++) {
      const start = index * SERIES_INTERVAL_MS;
      const bucket = this.#buckets[index % SLOTS]!;
      const live = bucket.start === start;
      const ingested = live ? bucket.ingested : 0;
      const delivered = live ? bucket.delivered : 0;
      out.push({
        t: start,
        ingested,
        ingestRate: ingested / seconds,
        ingestP50Ms: live ? percentile(bucket.ingestLatency, 0.5) : null,
        ingestP99Ms: live ? percentile(bucket.ingestLatency, 0.99) : null,
        delivered,
        deliveryRate: delivered / seconds,
        deliveryP50Ms: live ? percentile(bucket.deliveryLatency, 0.5) : null,
        deliveryP99Ms: live ? percentile(bucket.deliveryLatency, 0.99) : null,
        failed: live ? bucket.failed : 0,
      });
    }
    return out;
  }

  #bucket(): Bucket {
    const index = Math.floor(this.#now() / SERIES_INTERVAL_MS);
    const start = index * SERIES_INTERVAL_MS;
    const bucket = this.#buckets[index % SLOTS]!;
    if (bucket.start !== start) {
      bucket.start = start;
      bucket.ingested = 0;
      bucket.delivered = 0;
      bucket.failed = 0;
      bucket.ingestLatency?.fill(0);
      bucket.deliveryLatency?.fill(0);
    }
    return bucket;
  }
}

function classOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  return Math.min(CLASSES - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH));
}

/** The upper bound of the class holding quantile q (rounded to 3 significant digits); null when empty. */
function percentile(histogram: Uint32Array | undefined, q: number): number | null {
  if (histogram === undefined) return null;
  let total = 0;
  for (const n of histogram) total += n;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let k = 0; k < CLASSES; k++) {
    seen += histogram[k]!;
    if (seen >= rank) return Number((MIN_MS * GROWTH ** k).toPrecision(3));
  }
  return null;
}
